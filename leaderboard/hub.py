"""Process-level fan-out: each web process receives a session's events once and writes
the same frame to all of its own sockets in that session.

Per-client channel-layer messages cost a Redis round trip and a consumer dispatch per
client per update; measured here they saturate near 3,300 frames/s. One subscription
per process and a plain loop over local sockets reach thousands of clients per tick
(docs/performance.md). Leaderboards are coalesced: a burst of scored answers marks the
room dirty, and the room is rendered once per tick and sent once to each local socket.
"""

import asyncio
import json
import logging
import time
from collections import defaultdict
from typing import Protocol

import redis
from leaderboard.threads import db
from django.conf import settings
from django.utils.html import format_html

from elsa.logs import event as log_event

from . import board, metrics
from .events import CHANNEL_PATTERN
from .redis import async_client

log = logging.getLogger(__name__)


class LiveClient(Protocol):
    kind: str  # "player", "host", "screen" (HTML leaderboard) or "feed" (JSON leaderboard)
    participant_id: int | None
    pending: list[str] | None  # frames held back until the client's snapshot is sent

    async def push(self, frame: str) -> None: ...

    async def drop(self, code: int) -> None: ...


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


async def send_all(clients, frame: str) -> None:
    # A copy: sockets come and go while this loop awaits their writes.
    targets = list(clients)
    metrics.frames_written(len(targets))  # one add per call, not per frame
    for client in targets:
        if client.pending is not None:
            client.pending.append(frame)
            continue
        try:
            await client.push(frame)
        except Exception:  # a socket that went away mid-send; its disconnect cleans up
            log.debug("push failed", exc_info=True)


class Hub:
    def __init__(self):
        self.rooms: dict[int, Room] = {}
        self._tasks: list[asyncio.Task] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def _ensure_running(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self.rooms = {}
            self._tasks = [loop.create_task(self._listen()), loop.create_task(self._tick_forever())]

    async def attach(self, session_id: int, client: LiveClient) -> None:
        self._ensure_running()
        room = self.rooms.get(session_id)
        if room is None:
            room = self.rooms[session_id] = Room(session_id)
        room.add(client)

    async def detach(self, session_id: int, client: LiveClient) -> None:
        room = self.rooms.get(session_id)
        if room is None:
            return
        room.discard(client)
        if not room.clients:
            del self.rooms[session_id]

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

    async def release(self, client: LiveClient) -> None:
        """Send what arrived while the client's snapshot was being built, then go live."""
        held, client.pending = client.pending or [], None
        for frame in held:
            await client.push(frame)

    async def _listen(self) -> None:
        while True:
            pubsub = async_client().pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(CHANNEL_PATTERN)
                async for message in pubsub.listen():
                    if message["type"] == "pmessage":
                        await self._dispatch(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except (redis.RedisError, OSError):
                log_event(log, "pubsub_lost", level=logging.WARNING, exc_info=True, action="reconnecting")
                await self._resync_all()
                await asyncio.sleep(0.5)
            except Exception:
                log.exception("live event listener failed; restarting")
                await asyncio.sleep(0.5)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:
                    pass

    async def _resync_all(self) -> None:
        """Events may have been missed: every client reconnects and gets a full snapshot."""
        for room in list(self.rooms.values()):
            for client in list(room.clients):
                await client.drop(1012)

    async def _dispatch(self, channel: bytes, data: bytes) -> None:
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
                    await send_all(mine, format_html('<span id="my-score">{}</span>', score))
        elif kind == "answered" or kind == "joined":
            room.host_dirty = True
            room.leaderboard_dirty = room.leaderboard_dirty or kind == "joined"
        elif kind == "stage":
            await self._stage(room, event)

    async def _stage(self, room: Room, event: dict) -> None:
        from quizzes import frames

        room.leaderboard_dirty = True
        await send_all(room.by_kind["host"], event["host"])
        results = event.get("results")
        if results is None:
            await send_all(room.by_kind["player"], event["player"])
            return
        for participant_id, clients in list(room.players.items()):
            result = results.get(str(participant_id))
            frame = event["player"] + frames.player_result(state=event["state"], result=result)
            if result is not None:
                frame += format_html(
                    '<span id="my-score">{}</span>', result[2]
                ) + frames.rank_badge(result[3])
            await send_all(clients, frame)

    async def _tick_forever(self) -> None:
        while True:
            # Poll often, tick each room at most once per interval: the first change after
            # a quiet spell goes out at once, a burst is coalesced to one frame per tick.
            await asyncio.sleep(0.02)
            now = time.monotonic()
            for room in list(self.rooms.values()):
                if now < room.next_tick or not (room.leaderboard_dirty or room.host_dirty):
                    continue
                room.next_tick = now + room.interval()
                started = time.perf_counter()
                try:
                    await self.tick(room)
                except Exception:
                    log_event(log, "tick_failed", session=room.code, level=logging.ERROR, exc_info=True,
                              session_id=room.session_id)
                metrics.tick_seconds.observe(time.perf_counter() - started)

    async def tick(self, room: Room) -> None:
        from quizzes import frames

        if room.host_dirty:
            room.host_dirty = False
            if room.by_kind["host"]:
                frame = await db(frames.host_panels)(room.session_id)
                await send_all(room.by_kind["host"], frame)
        if room.leaderboard_dirty:
            room.leaderboard_dirty = False
            standings = await current_board(room.session_id)
            if len(room.by_kind["feed"]) < len(room.clients):
                html = room.frames["html"] = frames.leaderboard(standings)
                for kind in ("player", "host", "screen"):
                    await send_all(room.by_kind[kind], html)
            if room.by_kind["feed"]:
                room.frames["json"] = json_frame(standings)
                await send_all(room.by_kind["feed"], room.frames["json"])


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
