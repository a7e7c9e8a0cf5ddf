"""How often a room ticks: drawing may take a share of the loop, lag slows every room."""

import asyncio
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest

import live.hub as hub_module
from live import batches
from live.batches import Batches
from live.hub import CHANGE_SECONDS, DRAW_STEP, Hub, Room, send_in_steps
from live.outlet import Outlet
from live.pace import MAX_BASE_INTERVAL, MAX_INTERVAL, drawing_share, interval, ticks_per_second
from monitoring.metrics import REGISTRY


@pytest.fixture(autouse=True)
def pace(settings):
    settings.ELSA = {**settings.ELSA, "TICK_SECONDS": 0.1, "FANOUT_SHARE": 0.25}


BUSY = 1000.0  # changes a second of a room that has changed whenever it may tick


def test_a_cheap_round_ticks_as_fast_as_allowed():
    assert interval([]) == 0.1
    assert interval([(0.0125, BUSY)], longest=0.0125) == 0.1  # 12.5 ms is 12.5% of a 0.1 s tick
    assert interval([(0.002, BUSY)] * 10, longest=0.002) == 0.1  # small rooms together may take 25%


def test_drawing_takes_at_most_its_share_of_the_loop():
    # 100 ms of drawing in 50 small rooms every 400 ms: 25%
    assert interval([(0.002, BUSY)] * 50, longest=0.002) == pytest.approx(0.4, rel=0.01)
    assert interval([(0.2, BUSY)] * 50, longest=0.002) == MAX_BASE_INTERVAL


def test_rooms_that_change_less_often_than_they_may_tick_cost_only_their_changes():
    # 200 classes, 2 ms a tick each: a round of all of them is 0.4 s, 1.6 s at 25%. Each
    # changing every 2 s, they draw 20% of the loop however fast they may tick.
    assert ticks_per_second(0.1, 0.5) == pytest.approx(0.5, rel=0.01)
    assert drawing_share(0.1, [(0.002, 0.5)] * 200) == pytest.approx(0.2, rel=0.01)
    assert interval([(0.002, 0.5)] * 200, longest=0.002) == 0.1
    # Changing twice a second each, they would draw 80%: ticking slower helps only once a
    # tick takes in several changes, so the interval is nearly the round's 1.6 s again.
    assert 1.5 < interval([(0.002, 2.0)] * 200, longest=0.002) < 1.6


def test_one_room_drawn_in_one_stretch_takes_half_of_that_share():
    # A room of 100 ms, one stretch the answers wait behind: every 800 ms (12.5%), while
    # other rooms may fill the rest of the share.
    assert interval([(0.1, BUSY)], longest=0.1) == pytest.approx(0.8)
    assert interval([(0.1, BUSY), (0.05, BUSY)], longest=0.1) == pytest.approx(0.8)
    assert interval([(0.1, BUSY)] * 3, longest=0.1) == pytest.approx(1.2, rel=0.01)


def test_a_late_loop_slows_every_room_up_to_a_bound():
    assert interval([(0.002, BUSY)] * 50, lag=0.02, longest=0.002) == pytest.approx(0.8, rel=0.01)
    assert interval([(0.1, BUSY)], lag=1.0, longest=0.1) == MAX_INTERVAL


def test_a_room_counts_its_changes_a_second():
    hub, room = Hub(), Room(1)
    hub.rooms[1] = room
    hub.due(100.0)
    for _ in range(5):
        room.mark("board")
    hub.due(100.02)
    assert room.changes == pytest.approx(5 / CHANGE_SECONDS)
    hub.due(100.02 + CHANGE_SECONDS)  # nothing new for a while: it fades
    assert room.changes == pytest.approx(5 / CHANGE_SECONDS / math.e)


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
        room.last_tick, room.cost, room.changes = 100.0, 0.01, BUSY  # 0.1 s a round, in 10 short stretches
        room.mark("board")
    big = Hub()
    room = big.rooms[1] = Room(1)
    room.last_tick, room.cost, room.changes = 100.0, 0.1, BUSY  # 0.1 s a round, in one stretch
    room.mark("board")
    small._counted_at = big._counted_at = 100.0
    assert len(small.due(100.45)) == 10 and big.due(100.45) == []  # every 0.4 s, and 0.8 s
    assert REGISTRY.get_sample_value("elsa_tick_interval_seconds") == pytest.approx(0.8)  # what operators see
    assert big.due(100.85) == [room]


def test_a_room_with_nothing_new_does_not_tick():
    hub, room = Hub(), Room(1)
    hub.rooms[1] = room
    assert hub.due(100.0) == []
    room.mark("board")
    assert hub.due(100.0) == [room]  # the first change after a quiet spell goes at once


class Socket:
    """A socket as the hub sees one, noting the frames it was offered in `offers`."""

    def __init__(self, offers: list[str]):
        self.kind: str = "screen"
        self.person_id: int | None = None
        self.label: str | None = None
        self.outlet = cast(Outlet, self)
        self.offers = offers

    def offer(self, slot: str, frame: str) -> None:
        self.offers.append(frame)


def big_room(hub: Hub, offers: list[str]) -> Room:
    """A room of a little over two steps, whose board is drawn in steps."""
    room = Room(1)
    for _ in range(2 * DRAW_STEP + 1):
        room.add(Socket(offers))

    async def read(room):
        return "board"

    hub.redraw("board", read, lambda room, shown: send_in_steps(room.clients, "board", shown))
    room.mark("board")
    return room


def test_a_big_room_is_drawn_in_steps_and_the_loop_takes_other_work_between_them():
    hub, offers = Hub(), list[str]()
    room = big_room(hub, offers)

    async def main():
        asyncio.get_running_loop().call_soon(offers.append, "an answer")  # arrives as the tick starts
        await hub.tick(room)

    asyncio.run(main())
    assert offers.index("an answer") == DRAW_STEP  # after the first step, not after the room
    assert offers.count("board") == 2 * DRAW_STEP + 1  # every socket, once
    assert room.cost > 0 and hub.drawing == room.cost


def draw_while_storing(seconds: float) -> list[str]:
    """A big room's tick drawn while a batch of answers (a batch that goes first) takes
    `seconds` to be stored: what happened, in order."""
    offers: list[str] = []

    async def store(items):
        offers.append("storing")
        await asyncio.sleep(seconds)
        offers.append("stored")
        return items

    answers: Batches[int, int] = Batches(store, first=True)
    hub = Hub()
    room = big_room(hub, offers)

    async def main():
        call = asyncio.ensure_future(answers.call(1))
        while "storing" not in offers:
            await asyncio.sleep(0)
        await hub.tick(room)
        assert await call == 1

    asyncio.run(main())
    return offers


@pytest.fixture
def first(monkeypatch):
    monkeypatch.setattr(batches, "FIRST", [])  # only the test's own batches go first


def test_a_batch_of_answers_being_stored_is_done_before_the_next_step_is_drawn(first):
    offers = draw_while_storing(0.05)
    assert offers.index("stored") == 1 + DRAW_STEP  # "locked in" does not wait for the room
    assert offers.count("board") == 2 * DRAW_STEP + 1


def test_a_slow_batch_of_answers_holds_each_step_only_so_long(first, monkeypatch):
    monkeypatch.setattr(hub_module, "FIRST_WAIT_SECONDS", 0.01)
    offers = draw_while_storing(1.0)  # the database is slow: the leaderboard still goes out
    assert offers.index("stored") == len(offers) - 1
