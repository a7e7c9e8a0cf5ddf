"""Arbitrary messages to every consumer: no unhandled exception, no database write."""

import json

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elsa.asgi import application
from live import presence
from quizzes import services
from quizzes.models import Answer, Participant, QuizSession
from tests.support.communicators import ORIGIN, joined_cookie, staff_cookie
from tests.support.quizzes import make_quiz

pytestmark = pytest.mark.django_db(transaction=True)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
messages = st.one_of(
    st.text(max_size=300),
    json_values.map(json.dumps),
    st.dictionaries(st.sampled_from(["choice", "round", "HEADERS", "time", "participant"]), json_values)
    .map(json.dumps),
    st.binary(max_size=100),
)


def state_of_database():
    states = list(QuizSession.objects.values_list("state", flat=True))
    return (Answer.objects.count(), Participant.objects.count(), states)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(messages, min_size=1, max_size=5))
def test_arbitrary_messages_change_nothing_and_crash_nothing(batch, fuzz_world):
    session, paths = fuzz_world
    before = state_of_database()

    async def send_everywhere():
        for path, cookie in paths:
            communicator = WebsocketCommunicator(application, path, headers=[ORIGIN, (b"cookie", cookie)])
            connected, _ = await communicator.connect(timeout=5)
            assert connected, path
            await communicator.receive_from(timeout=5)  # the snapshot
            for message in batch:
                key = "bytes" if isinstance(message, bytes) else "text"
                await communicator.send_input({"type": "websocket.receive", key: message})
            await communicator.receive_nothing(timeout=0.05)
            await communicator.disconnect()  # raises if the consumer crashed

    async_to_sync(send_everywhere)()
    assert state_of_database() == before


@pytest.fixture
def fuzz_world():
    session = services.session_create(quiz=make_quiz(questions=2))
    player_cookie = joined_cookie(session.code, "ann")
    host_cookie = staff_cookie()
    services.session_next(session_id=session.pk)
    # The open question's choices are not in any message the strategy can build by
    # chance (ids are small integers, though): answer once first so a lucky valid
    # choice is a duplicate and still changes nothing.
    session.refresh_from_db()
    participant = Participant.objects.get(session=session)
    services.answer_submit(participant_id=participant.pk, session_id=session.pk,
                           choice_id=session.current_round.question.choices.first().pk)
    # Bob is connected on another web process and has not answered: the question stays
    # open (it would close once everyone connected had answered, live/presence.py).
    bob = services.participant_join(code=session.code, nickname="bob")
    presence.vouch_now("another-web-process", {session.pk: {bob.pk}}, seconds=3600)
    paths = [
        (f"/ws/play/{session.code}", player_cookie),
        (f"/ws/host/{session.code}", host_cookie),
        (f"/ws/livescore/{session.code}", b""),
        (f"/livescore/{session.code}", b""),
    ]
    return session, paths
