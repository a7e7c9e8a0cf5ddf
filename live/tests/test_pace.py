"""How often a room ticks: drawing may take a share of the loop, lag slows every room."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from live.hub import MAX_BASE_INTERVAL, MAX_INTERVAL, Hub, Room, interval
from monitoring.metrics import REGISTRY


@pytest.fixture(autouse=True)
def pace(settings):
    settings.ELSA = {**settings.ELSA, "TICK_SECONDS": 0.1, "FANOUT_SHARE": 0.25}


def test_a_cheap_round_ticks_as_fast_as_allowed():
    assert interval(0.0) == 0.1
    assert interval(0.0125) == 0.1  # one room of 12.5 ms is 12.5% of a 0.1 s tick
    assert interval(0.025, longest=0.002) == 0.1  # small rooms together may take 25%


def test_drawing_takes_at_most_its_share_of_the_loop():
    # 100 ms of drawing in 50 small rooms every 400 ms: 25%
    assert interval(0.1, longest=0.002) == pytest.approx(0.4)
    assert interval(10.0, longest=0.002) == MAX_BASE_INTERVAL


def test_one_room_drawn_in_one_stretch_takes_half_of_that_share():
    # A room of 100 ms, one stretch the answers wait behind: every 800 ms (12.5%), while
    # other rooms may fill the rest of the share.
    assert interval(0.1) == pytest.approx(0.8)
    assert interval(0.15, longest=0.1) == pytest.approx(0.8)
    assert interval(0.3, longest=0.1) == pytest.approx(1.2)


def test_a_late_loop_slows_every_room_up_to_a_bound():
    assert interval(0.1, lag=0.02, longest=0.002) == pytest.approx(0.8)
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


def test_many_small_rooms_tick_faster_than_one_big_room_of_the_same_cost():
    small = Hub()
    for n in range(10):
        room = small.rooms[n] = Room(n)
        room.last_tick, room.cost = 100.0, 0.01  # 0.1 s a round, in 10 short stretches
        room.mark("board")
    big = Hub()
    room = big.rooms[1] = Room(1)
    room.last_tick, room.cost = 100.0, 0.1  # 0.1 s a round, in one stretch
    room.mark("board")
    assert len(small.due(100.45)) == 10 and big.due(100.45) == []  # every 0.4 s, and 0.8 s
    assert REGISTRY.get_sample_value("elsa_tick_interval_seconds") == pytest.approx(0.8)  # what operators see
    assert big.due(100.85) == [room]


def test_a_room_with_nothing_new_does_not_tick():
    hub, room = Hub(), Room(1)
    hub.rooms[1] = room
    assert hub.due(100.0) == []
    room.mark("board")
    assert hub.due(100.0) == [room]  # the first change after a quiet spell goes at once
