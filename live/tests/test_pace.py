"""How often a room ticks: drawing may take a share of the loop, lag slows every room."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from live.hub import MAX_BASE_INTERVAL, MAX_INTERVAL, Hub, Room, interval


@pytest.fixture(autouse=True)
def pace(settings):
    settings.ELSA = {**settings.ELSA, "TICK_SECONDS": 0.1, "FANOUT_SHARE": 0.25}


def test_a_cheap_round_ticks_as_fast_as_allowed():
    assert interval(0.0) == 0.1
    assert interval(0.02) == 0.1  # 20 ms of drawing is 20% of a 0.1 s tick


def test_drawing_takes_at_most_its_share_of_the_loop():
    assert interval(0.1) == pytest.approx(0.4)  # 100 ms of drawing every 400 ms: 25%
    assert interval(10.0) == MAX_BASE_INTERVAL


def test_a_late_loop_slows_every_room_up_to_a_bound():
    assert interval(0.1, lag=0.02) == pytest.approx(0.8)
    assert interval(0.1, lag=1.0) == MAX_INTERVAL


def test_a_tick_measures_what_drawing_cost_and_the_round_paces_by_it():
    hub = Hub()

    async def read(room):
        await asyncio.sleep(0.05)  # waiting for Redis is not drawing
        return "board"

    def draw(room, shown):
        assert shown == "board"
        started = asyncio.get_event_loop().time()
        while asyncio.get_event_loop().time() - started < 0.03:
            pass

    hub.redraw("board", read, draw)
    room = Room(1)
    room.mark("board")
    asyncio.run(hub.tick(room))
    assert 0.03 <= room.cost < 0.05
    assert hub.drawing == room.cost
    assert not room.dirty and not room.ticking


@pytest.mark.parametrize("raw", ["0", "1.5", "lots"])
def test_a_share_outside_zero_to_one_stops_the_server_with_a_clear_error(raw):
    root = Path(__file__).resolve().parents[2]
    ran = subprocess.run([sys.executable, "manage.py", "check"], cwd=root, capture_output=True, text=True,
                         env={**os.environ, "FANOUT_SHARE": raw}, timeout=60)
    assert ran.returncode != 0
    assert "FANOUT_SHARE must be" in ran.stderr


def test_a_moment_of_lag_slows_the_leaderboard_only_while_it_lasts():
    hub, room = Hub(), Room(1)
    hub.rooms[1] = room
    room.last_tick, room.cost = 100.0, 0.03  # ticks every 0.1 s when the loop keeps up
    room.mark("board")
    hub.lag = 0.5  # a spike: the interval would be 5 s
    assert hub.due(101.0) == []
    hub.lag = 0.0  # over: the room is due at once, not 5 s after its last tick
    assert hub.due(101.0) == [room]
    room.ticking = True
    assert hub.due(101.0) == []  # one tick at a time


def test_a_room_with_nothing_new_does_not_tick():
    hub, room = Hub(), Room(1)
    hub.rooms[1] = room
    assert hub.due(100.0) == []
    room.mark("board")
    assert hub.due(100.0) == [room]  # the first change after a quiet spell goes at once
