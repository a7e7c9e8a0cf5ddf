"""Process-level fan-out: each web process receives a session's events once and writes
the same frame to all of its own sockets in that session.

Per-client channel-layer messages cost a Redis round trip and a consumer dispatch per
client per update; measured here they saturate near 3,300 frames/s. One subscription
per process and a plain loop over local sockets reach thousands of clients per tick
(docs/performance.md). Leaderboards are coalesced: a burst of scored answers marks the
room dirty, and the room is rendered once per tick and sent once to each local socket.

No socket can hold anyone else up: the hub never waits for a socket's write. A frame
goes out at once if the socket can take it, or waits in that socket's own outlet, where
a newer frame for the same slot replaces an older one (see `Outlet`).
"""

import asyncio
import json
import logging
import time
from collections import defaultdict
from typing import Awaitable, Callable, Protocol

import redis
from django.conf import settings
from django.utils.html import format_html

from elsa.logs import event as log_event
from leaderboard.threads import db

from . import board, metrics
from .events import CHANNEL_PATTERN
from .redis import async_client

log = logging.getLogger(__name__)

# What a frame updates on the page. An outlet keeps only the newest frame of each slot.
BOARD, SCORE, STAGE, HOST_PANELS = "board", "score", "stage", "host-panels"


def write_now(send, message: dict) -> bool:
    """Write `message` with the server's ASGI `send` if the socket can take it without
    waiting; False, with nothing written, if it cannot.

    uvicorn's send() (the websockets-sansio protocol this project runs) first waits until
    the transport is writable, that is until the socket's buffer is under its high-water
    mark, and then writes without waiting again. So one step of the coroutine either
    finishes the write or stops at that first wait, before anything was written; closing
    it there abandons only the wait. Exceptions (a socket already gone) propagate."""
    step = send(message)
    try:
        step.send(None)
    except StopIteration:
        return True
    step.close()
    return False


class Outlet:
    """One socket's way out, for frames the hub pushes.

    A frame is written at once when the socket can take it. Otherwise (the socket's
    buffer is full: a frozen tab, a bad link, a client that never reads) it waits here,
    one frame per slot, the newest winning, and a task of this socket's own writes them
    as the socket drains. Frames also wait here while the socket's snapshot is being
    built (`hold` ... `flush`). A socket that takes nothing for `WS_STUCK_SECONDS` is
    given up: `on_stuck` is called."""

    def __init__(self, send, *, on_stuck: Callable[[], None]):
        self.send = send
        self.on_stuck = on_stuck
        self.waiting: dict[str, str] | None = None
        self.closed = False
        self._drainer: asyncio.Task | None = None

    def hold(self) -> None:
        self.waiting = {}

    def offer(self, slot: str, frame: str) -> None:
        if self.closed:
            return
        if self.waiting is not None:
            self.waiting.pop(slot, None)  # the newest frame of a slot goes last
            self.waiting[slot] = frame
            return
        try:
            if write_now(self.send, {"type": "websocket.send", "text": frame}):
                return
        except Exception:  # the socket is gone; its consumer's end detaches it
            self.closed = True
            return
        self.waiting = {slot: frame}
        self._drainer = asyncio.get_running_loop().create_task(self._drain())

    async def flush(self) -> None:
        """Write what waits, oldest slot first, then write straight through again."""
        bound = settings.ELSA["WS_STUCK_SECONDS"]
        while self.waiting and not self.closed:
            slot = next(iter(self.waiting))
            frame = self.waiting.pop(slot)
            await asyncio.wait_for(self.send({"type": "websocket.send", "text": frame}), timeout=bound)
        self.waiting = None

    async def _drain(self) -> None:
        try:
            await self.flush()
        except TimeoutError:
            self.on_stuck()
        except Exception:  # the socket went away while draining
            self.closed = True

    def close_later(self, code: int) -> None:
        """Close the socket without waiting for it: a stuck socket's close waits too."""
        if self.closed:
            return
        self.closed = True
        self.waiting = None
        if self._drainer is not None and not self._drainer.done():
            self._drainer.cancel()
        _background(self.send({"type": "websocket.close", "code": code}))


_background_tasks: set[asyncio.Task] = set()


def _background(awaitable: Awaitable) -> None:
    async def run():
        try:
            await awaitable
        except Exception:  # a socket that is gone cannot be closed again
            pass

    task = asyncio.get_running_loop().create_task(run())
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)


class LiveClient(Protocol):
    kind: str  # "player", "host", "screen" (HTML leaderboard) or "feed" (JSON leaderboard)
    participant_id: int | None
    outlet: Outlet


class Room:
    def __init__(self, session_id: int):
        self.session_id = session_id
        self.clients: set[LiveClient] = set()
        # Kept by kind so a tick or a stage change never scans every socket to pick some.
        self.by_kind: dict[str, set[LiveClient]] = defaultdict(set)
        self.players: dict[int, set[LiveClient]] = defaultdict(set)
        self.leaderboard_dirty = True
        self.host_dirty = False
        # The last leaderboard frames sent ("html", "json"): a connecting socket's snapshot
        # reuses them instead of reading Redis once per connect (a burst of thousands of
        # connects exhausted the Redis pool). A fresher frame follows on the next tick.
        self.frames: dict[str, str] = {}
        self.next_tick = 0.0
        self.ticking = False
        self.code: str | None = None  # the join code, for log lines (from the first client)

    def interval(self) -> float:
        # Frames per second are clients x ticks, and writing them is the hub's main cost
        # (profiled: ~60% of the web process at 1,000 players). Large rooms tick slower
        # so a process spends at most about FANOUT_FRAMES_PER_SECOND on one room.
        budget = settings.ELSA["FANOUT_FRAMES_PER_SECOND"]
        return min(2.0, max(settings.ELSA["TICK_SECONDS"], len(self.clients) / budget))

    def add(self, client: LiveClient) -> None:
        self.code = self.code or getattr(client, "session_code", None)
        self.clients.add(client)
        self.by_kind[client.kind].add(client)
        if client.participant_id is not None:
            self.players[client.participant_id].add(client)

    def discard(self, client: LiveClient) -> None:
        self.clients.discard(client)
        self.by_kind[client.kind].discard(client)
        mine = self.players.get(client.participant_id)
        if mine is not None:
            mine.discard(client)
            if not mine:
                del self.players[client.participant_id]


def send_all(clients, slot: str, frame: str) -> None:
    """Offer one frame to each client. Never waits: see `Outlet`."""
    targets = list(clients)
    metrics.frames_written(len(targets))  # one add per call, not per frame
    for client in targets:
        client.outlet.offer(slot, frame)


# What a periodic job gets: the ids of the sessions this process has sockets for.
Job = Callable[[list[int]], Awaitable[None]]


class Hub:
    def __init__(self):
        self.rooms: dict[int, Room] = {}
        self.jobs: list[tuple[float, Job]] = []
        self._tasks: list[asyncio.Task] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def every(self, seconds: float, job: Job) -> None:
        """Run `job(session ids)` every `seconds` in each web process, one run at a time.

        Apps install their jobs at start-up (AppConfig.ready); a slow run delays only the
        next run of that job, never a tick or an event."""
        self.jobs.append((seconds, job))

    def _ensure_running(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self.rooms = {}
            self._tasks = [loop.create_task(self._listen()), loop.create_task(self._tick_forever())]
            self._tasks += [loop.create_task(self._run_every(seconds, job)) for seconds, job in self.jobs]

    def attach(self, session_id: int, client: LiveClient) -> None:
        self._ensure_running()
        room = self.rooms.get(session_id)
        if room is None:
            room = self.rooms[session_id] = Room(session_id)
        room.add(client)

    def detach(self, session_id: int, client: LiveClient) -> None:
        """Idempotent: a consumer detaches when it ends, however it ends."""
        room = self.rooms.get(session_id)
        if room is None:
            return
        room.discard(client)
        if not room.clients:
            del self.rooms[session_id]

    def give_up(self, session_id: int, client: LiveClient) -> None:
        """A socket that took nothing for WS_STUCK_SECONDS: out of the room, closed."""
        self.detach(session_id, client)
        client.outlet.close_later(1013)  # "try again later": htmx reconnects when it can
        log_event(log, "socket_stuck", session=getattr(client, "session_code", None), level=logging.WARNING,
                  kind=client.kind, participant=client.participant_id)

    async def leaderboard_frame(self, session_id: int, *, json_feed: bool = False) -> str:
        """The room's current leaderboard frame for a snapshot, rendered at most once."""
        from quizzes import frames

        room = self.rooms.get(session_id)
        key = "json" if json_feed else "html"
        if room is not None and key in room.frames:
            return room.frames[key]
        standings = await current_board(session_id)
        frame = json_frame(standings) if json_feed else frames.leaderboard(standings)
        if room is not None:
            room.frames[key] = frame
        return frame

    async def _listen(self) -> None:
        while True:
            pubsub = async_client().pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(CHANNEL_PATTERN)
                async for message in pubsub.listen():
                    if message["type"] == "pmessage":
                        self._dispatch(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except (redis.RedisError, OSError):
                log_event(log, "pubsub_lost", level=logging.WARNING, exc_info=True, action="reconnecting")
                self._resync_all()
                await asyncio.sleep(0.5)
            except Exception:
                log.exception("live event listener failed; restarting")
                await asyncio.sleep(0.5)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:
                    pass

    def _resync_all(self) -> None:
        """Events may have been missed: every client reconnects and gets a full snapshot."""
        for room in list(self.rooms.values()):
            for client in list(room.clients):
                client.outlet.close_later(1012)

    def _dispatch(self, channel: bytes, data: bytes) -> None:
        session_id = int(channel.rsplit(b":", 1)[1])
        room = self.rooms.get(session_id)
        if room is None:
            return
        event = json.loads(data)
        kind = event.get("t")
        if kind == "scored":
            room.leaderboard_dirty = True
            for participant_id, score in event["items"]:
                mine = room.players.get(participant_id)
                if mine:
                    send_all(mine, SCORE, format_html('<span id="my-score">{}</span>', score))
        elif kind == "answered" or kind == "joined":
            room.host_dirty = True
            room.leaderboard_dirty = room.leaderboard_dirty or kind == "joined"
        elif kind == "stage":
            self._stage(room, event)

    def _stage(self, room: Room, event: dict) -> None:
        from quizzes import frames

        room.leaderboard_dirty = True
        send_all(room.by_kind["host"], STAGE, event["host"])
        results = event.get("results")
        if results is None:
            send_all(room.by_kind["player"], STAGE, event["player"])
            return
        for participant_id, clients in list(room.players.items()):
            result = results.get(str(participant_id))
            frame = event["player"] + frames.player_result(state=event["state"], result=result)
            if result is not None:
                frame += format_html(
                    '<span id="my-score">{}</span>', result[2]
                ) + frames.rank_badge(result[3])
            send_all(clients, STAGE, frame)

    async def _tick_forever(self) -> None:
        while True:
            # Poll often, tick each room at most once per interval: the first change after
            # a quiet spell goes out at once, a burst is coalesced to one frame per tick.
            # Each room ticks in its own task, so a slow read for one room delays no other.
            await asyncio.sleep(0.02)
            now = time.monotonic()
            for room in list(self.rooms.values()):
                if room.ticking or now < room.next_tick or not (room.leaderboard_dirty or room.host_dirty):
                    continue
                room.next_tick = now + room.interval()
                room.ticking = True
                asyncio.get_running_loop().create_task(self._timed_tick(room))

    async def _timed_tick(self, room: Room) -> None:
        started = time.perf_counter()
        try:
            await self.tick(room)
        except Exception:
            log_event(log, "tick_failed", session=room.code, level=logging.ERROR, exc_info=True,
                      session_id=room.session_id)
        finally:
            room.ticking = False
        metrics.tick_seconds.observe(time.perf_counter() - started)

    async def tick(self, room: Room) -> None:
        from quizzes import frames

        if room.host_dirty:
            room.host_dirty = False
            if room.by_kind["host"]:
                frame = await db(frames.host_panels)(room.session_id)
                send_all(room.by_kind["host"], HOST_PANELS, frame)
        if room.leaderboard_dirty:
            room.leaderboard_dirty = False
            standings = await current_board(room.session_id)
            if len(room.by_kind["feed"]) < len(room.clients):
                html = room.frames["html"] = frames.leaderboard(standings)
                for kind in ("player", "host", "screen"):
                    send_all(room.by_kind[kind], BOARD, html)
            if room.by_kind["feed"]:
                room.frames["json"] = json_frame(standings)
                send_all(room.by_kind["feed"], BOARD, room.frames["json"])

    async def _run_every(self, seconds: float, job: Job) -> None:
        while True:
            await asyncio.sleep(seconds)
            if not self.rooms:
                continue
            try:
                await job(list(self.rooms))
            except Exception:
                log.exception("hub job %s failed", getattr(job, "__name__", job))


async def current_board(session_id: int, *, limit: int | None = None) -> board.Board:
    """The top of the board from Redis, rebuilt from the database if Redis lost it."""
    limit = limit or max(settings.ELSA["LEADERBOARD_SIZE"], settings.ELSA["LEADERBOARD_JSON_SIZE"])
    standings = await board.top_async(session_id=session_id, limit=limit)
    if not standings.built:
        from quizzes import services

        await db(services.leaderboard_rebuild)(session_id=session_id)
        standings = await board.top_async(session_id=session_id, limit=limit)
    return standings


def json_frame(standings: board.Board) -> str:
    size = settings.ELSA["LEADERBOARD_JSON_SIZE"]
    return json.dumps([s.as_json() for s in standings.standings[:size]])


hub = Hub()
