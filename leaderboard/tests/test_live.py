import asyncio
import json
from typing import cast

import pytest

from leaderboard import live
from live.hub import Room
from live.outlet import Outlet
from live.redis import sync_client
from quizzes import services
from tests.support.quizzes import make_quiz

pytestmark = pytest.mark.django_db(transaction=True)


class Socket:
    """A socket as the hub sees one: what it shows, and what it was offered."""

    def __init__(self, kind: str):
        self.kind: str = kind
        self.person_id: int | None = None
        self.label: str | None = None
        self.offered: list[tuple[str, str]] = []
        self.outlet = cast(Outlet, self)

    def offer(self, slot: str, frame: str) -> None:
        self.offered.append((slot, frame))


@pytest.fixture
def session():
    session = services.session_create(quiz=make_quiz(questions=1))
    services.participant_join(code=session.code, nickname="Ann")
    return session


def test_a_frame_no_socket_wanted_is_not_kept_to_greet_the_next_one(session):
    room = Room(session.pk)
    room.frames["json"] = json.dumps({"stale": True})
    room.add(Socket("screen"))
    list(live.draw_board(room, asyncio.run(live.read_board(room))))  # every step
    assert "Ann" in room.frames["html"]
    assert "json" not in room.frames  # the feed's next socket reads a fresh board


def test_pages_drawn_after_redis_lost_the_board_show_the_databases_totals(client, session):
    sync_client().flushdb()
    page = client.get(f"/livescore/{session.code}").content.decode()
    assert "Ann" in page
