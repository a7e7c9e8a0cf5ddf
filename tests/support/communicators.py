"""Consumers as the suite drives them in-process: Channels' communicator with the cookies
a browser would carry, and Django's test client signed in as a player."""

import asyncio

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from elsa.asgi import application
from quizzes import services
from quizzes.identity import remember_participant

from .quizzes import make_quiz

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


def joined_cookie(code: str, nickname: str) -> bytes:
    client = Client()
    response = client.post("/join", {"code": code, "nickname": nickname})
    assert response.status_code == 302, response.content
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def staff_cookie() -> bytes:
    client = Client()
    client.force_login(User.objects.create_user("host", password="pw", is_staff=True))
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(path: str, *headers) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN, *headers])
    connected, code = await communicator.connect(timeout=5)
    assert connected, code
    return communicator


async def receive_until(communicator, needle: str, timeout: float = 5.0) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await communicator.receive_from(timeout=max(0.01, deadline - loop.time()))
        if needle in frame:
            return frame


async def make_session(questions: int = 2):
    quiz = await database_sync_to_async(make_quiz)(questions=questions)
    return await database_sync_to_async(services.session_create)(quiz=quiz)


def player_client(session, participant) -> Client:
    client = Client()
    store = client.session
    remember_participant(store, session.code, participant.pk)
    store.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = store.session_key
    return client


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
