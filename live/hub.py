"""Process-level fan-out: each web process receives a room's events once and writes the
same frame to all of its own sockets in that room.

Each process subscribes to the channels of the rooms it has sockets in, and only those:
the first socket of a room subscribes, the room's end unsubscribes. So a process hears its
own sessions' events, whatever the rest of the fleet is doing.

Per-client channel-layer messages cost a Redis round trip and a consumer dispatch per
client per update; measured here they saturate near 3,300 frames/s. One subscription
per process and a plain loop over local sockets reach thousands of clients per tick
(docs/performance.md).

The hub knows no quiz. A room is a number (a session's id) with its local sockets, kept
by kind and by person. The apps install, at start-up (AppConfig.ready):
- `on(EventType, handler)`: what an event means here: the handler offers frames to some
  sockets, or marks a part of the room to redraw;
- `redraw(part, read, draw)`: how a marked part is redrawn, once per tick however many
  times it was marked (a burst of scored answers is one leaderboard frame): `read` fetches
  what it shows (awaiting Redis or the database), `draw` renders it and offers the frames
  to the sockets, without waiting for anything (a generator draws in steps, the loop
  taking other work between them: `send_in_steps`);
- `every(seconds, job)`: work to repeat for the rooms this process serves.

No socket can hold anyone else up: frames are offered to each socket's `Outlet`, which
never makes the hub wait (live/outlet.py).
"""

import asyncio
import logging
import math
import time
import uuid
from collections import defaultdict
from typing import Any, Awaitable, Callable, Iterator, Protocol, TypeVar

import redis
from django.conf import settings

from monitoring.logs import event as log_event
from monitoring.metrics import REGISTRY

from . import batches, metrics, presence
from .events import Event, channel_for, decode
from .outlet import Outlet
from .pace import interval
from .redis import async_client

log = logging.getLogger(__name__)


class LiveClient(Protocol):
    kind: str  # what the socket shows, e.g. "player", "host", "screen", "feed"
    person_id: int | None  # whose socket it is, if anyone's
    label: str | None  # the room's name for log lines
    outlet: Outlet


class Room:
    def __init__(self, room_id: int):
        self.id = room_id
        self.clients: set[LiveClient] = set()
        # Kept by kind and by person, so nothing ever scans every socket to pick some.
        self.by_kind: dict[str, set[LiveClient]] = defaultdict(set)
        self.people: dict[int, set[LiveClient]] = defaultdict(set)
        self.dirty: set[str] = set()
        # Frames a renderer keeps for the snapshots of sockets that connect meanwhile.
        self.frames: dict[str, str] = {}
        self.last_tick = 0.0
        self.ticking = False
        self.cost = 0.0  # seconds the loop spends drawing one tick of this room (smoothed)
        self.marks = 0  # changes marked since the hub last measured the room's pace of change
        self.changes = 0.0  # changes per second, smoothed over CHANGE_SECONDS
        self.label: str | None = None
        # Set once Redis has confirmed this process's subscription to the room's channel:
        # a socket's snapshot is read after that, so no event can fall in between.
        self.subscribed = asyncio.Event()

    def mark(self, part: str) -> None:
        """Redraw `part` on the room's next tick."""
        self.dirty.add(part)
        self.marks += 1

    def add(self, client: LiveClient) -> None:
        self.label = self.label or client.label
        self.clients.add(client)
        self.by_kind[client.kind].add(client)
        if client.person_id is not None:
            self.people[client.person_id].add(client)

    def discard(self, client: LiveClient) -> None:
        self.clients.discard(client)
        self.by_kind[client.kind].discard(client)
        person = client.person_id
        mine = self.people.get(person) if person is not None else None
        if person is not None and mine is not None:
            mine.discard(client)
            if not mine:
                del self.people[person]


SUBSCRIBE_TIMEOUT = 2.0
TICK_POLL_SECONDS = 0.02
BUSY_SECONDS = 5.0  # a room that ticked this recently counts as the dearest room
CHANGE_SECONDS = 1.0  # how far back a room's pace of change is smoothed
DRAW_STEP = 500  # sockets a drawer writes before the loop may take other work (send_in_steps)
FIRST_WAIT_SECONDS = 0.1  # the longest a step waits for a batch that goes first (live.batches)
LISTEN_POLL_SECONDS = 0.05  # how soon a new room's subscription is sent (and confirmed)
IDLE_CHANNEL = "elsa:live:idle"


def room_of(channel: bytes) -> int | None:
    tail = channel.rsplit(b":", 1)[-1]
    return int(tail) if tail.isdigit() else None


def send_all(clients, slot: str, frame: str) -> None:
    """Offer one frame to each client. Never waits: see `Outlet`."""
    targets = list(clients)
    metrics.frames_written(len(targets))  # one add per call, not per frame
    for client in targets:
        client.outlet.offer(slot, frame)


def send_in_steps(clients, slot: str, frame: str) -> Iterator[None]:
    """`send_all` for a drawer (`Hub.redraw`), DRAW_STEP clients at a time: between steps
    the loop takes other work, so an answer arriving meanwhile waits for one step, not for
    a whole room of thousands. Each client still gets this frame once."""
    targets = list(clients)
    metrics.frames_written(len(targets))
    for start in range(0, len(targets), DRAW_STEP):
        if start:
            yield
        for client in targets[start:start + DRAW_STEP]:
            client.outlet.offer(slot, frame)


E = TypeVar("E", bound=Event)
Handler = Callable[[Room, Any], None]
Reader = Callable[[Room], Awaitable[Any]]
Drawer = Callable[[Room, Any], Iterator[None] | None]  # a generator draws in steps (send_in_steps)
Job = Callable[[list[int]], Awaitable[None]]  # gets the ids of this process's rooms


class Hub:
    def __init__(self):
        self.rooms: dict[int, Room] = {}
        self.handlers: dict[type[Event], list[Handler]] = defaultdict(list)
        self.parts: dict[str, tuple[Reader, Drawer]] = {}
        self.jobs: list[tuple[float, Job]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribed: set[int] = set()  # the rooms whose channels the listener follows
        self.lag = 0.0  # how late the event loop runs apart from drawing ticks, smoothed (seconds)
        self.drawing = 0.0  # seconds spent drawing ticks since the process started
        self._counted_at = 0.0  # when the rooms' changes were last counted (monotonic)
        self.arrivals: set[int] = set()  # rooms someone joined: to mark present on the next poll
        self.writer = uuid.uuid4().hex  # this hub's name in the rooms' presence (live/presence.py)
        self._vouching = asyncio.Lock()

    def on(self, kind: type[E], handler: Callable[[Room, E], None]) -> None:
        self.handlers[kind].append(handler)

    def redraw(self, part: str, read: Reader, draw: Drawer) -> None:
        self.parts[part] = (read, draw)

    def every(self, seconds: float, job: Job) -> None:
        """Run `job(room ids)` every `seconds` in each web process, one run at a time: a
        slow run delays only the next run of that job, never a tick or an event."""
        self.jobs.append((seconds, job))

    def start(self) -> None:
        """Listen and tick on this event loop, once per loop (from the server's start, else
        the first socket)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self.rooms = {}
            loop.create_task(self._listen())
            loop.create_task(self._tick_forever())
            self._vouching = asyncio.Lock()
            presence_job = (settings.ELSA["PRESENCE_SECONDS"], self._vouch)
            for seconds, job in [presence_job, *self.jobs]:
                loop.create_task(self._run_every(seconds, job))

    async def attach(self, room_id: int, client: LiveClient) -> None:
        """Join the room, subscribing this process to its channel if it is the first."""
        self.start()
        room = self.rooms.get(room_id)
        if room is None:
            room = self.rooms[room_id] = Room(room_id)
            if room_id in self._subscribed:  # the room ended and came back before we unsubscribed
                room.subscribed.set()
        if client.person_id is not None and client.person_id not in room.people:
            self.arrivals.add(room_id)  # present from the next poll
        room.add(client)
        if not room.subscribed.is_set():
            try:
                await asyncio.wait_for(room.subscribed.wait(), timeout=SUBSCRIBE_TIMEOUT)
            except TimeoutError:  # Redis is slow or away: the socket goes live anyway
                log_event(log, "subscribe_slow", session=client.label, level=logging.WARNING, room=room_id)

    def detach(self, room_id: int, client: LiveClient) -> None:
        """Idempotent: a consumer detaches when it ends, however it ends."""
        room = self.rooms.get(room_id)
        if room is None:
            return
        room.discard(client)
        if not room.clients:
            del self.rooms[room_id]

    def give_up(self, room_id: int, client: LiveClient) -> None:
        """A socket that took nothing for WS_STUCK_SECONDS: out of the room, closed."""
        self.detach(room_id, client)
        client.outlet.close_later(1013)  # "try again later": htmx reconnects when it can
        log_event(log, "socket_stuck", session=client.label, level=logging.WARNING, kind=client.kind,
                  person=client.person_id)

    async def _listen(self) -> None:
        while True:
            pubsub = async_client().pubsub()
            self._subscribed = set()
            try:
                # A channel nobody publishes on keeps the connection in pub/sub mode
                # while this process has no room.
                await pubsub.subscribe(IDLE_CHANNEL)
                while True:
                    await self._follow_rooms(pubsub)
                    message = await pubsub.get_message(timeout=LISTEN_POLL_SECONDS)
                    if message is None:
                        continue
                    if message["type"] == "message":
                        self._dispatch(message["channel"], message["data"])
                    elif message["type"] == "subscribe":
                        self._confirmed(message["channel"])
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

    async def _follow_rooms(self, pubsub) -> None:
        """Subscribe to the channels of new rooms, unsubscribe from those of ended rooms.

        `_subscribed` changes before each await: a room that comes back while its channel
        is being dropped waits for the new subscription's confirmation (attach)."""
        wanted = set(self.rooms)
        new, ended = wanted - self._subscribed, self._subscribed - wanted
        self._subscribed = wanted
        if new:
            await pubsub.subscribe(*(channel_for(room_id) for room_id in new))
        if ended:
            await pubsub.unsubscribe(*(channel_for(room_id) for room_id in ended))

    def _confirmed(self, channel: bytes) -> None:
        room_id = room_of(channel)
        room = self.rooms.get(room_id) if room_id is not None else None
        if room is not None:
            room.subscribed.set()

    def _resync_all(self) -> None:
        """Events may have been missed: every client reconnects and gets a full snapshot."""
        for room in list(self.rooms.values()):
            for client in list(room.clients):
                client.outlet.close_later(1012)

    def _dispatch(self, channel: bytes, data: bytes) -> None:
        room_id = room_of(channel)
        room = self.rooms.get(room_id) if room_id is not None else None
        metrics.live_event(local=room is not None)
        if room is None:  # a room that ended a moment ago
            return
        item = decode(data)
        if item is None:
            return
        for handler in self.handlers.get(type(item), ()):
            handler(room, item)

    async def _tick_forever(self) -> None:
        while True:
            # Poll often, tick each room at most once per interval: the first change after
            # a quiet spell goes out at once, a burst is coalesced to one frame per tick.
            # Each room ticks in its own task, so a slow read for one room delays no other.
            # How late the poll wakes, less the ticks drawn meanwhile (their share is paced
            # by `interval` already), measures how busy the loop is: the lag, smoothed.
            asleep, drawn = time.monotonic(), self.drawing
            await asyncio.sleep(TICK_POLL_SECONDS)
            now = time.monotonic()
            late = now - asleep - TICK_POLL_SECONDS - (self.drawing - drawn)
            self.lag = 0.8 * self.lag + 0.2 * max(0.0, late)
            metrics.loop_lag.set(self.lag)
            if self.arrivals:
                arrivals, self.arrivals = self.arrivals, set()
                asyncio.get_running_loop().create_task(self._mark_present(arrivals))
            for room in self.due(now):
                room.last_tick, room.ticking = now, True
                asyncio.get_running_loop().create_task(self.tick(room))

    def due(self, now: float) -> list[Room]:
        """The rooms to tick now: something changed and their interval has passed since
        their last tick. The interval is taken afresh at every poll, so a moment of lag
        slows the leaderboard only while it lasts."""
        rooms = list(self.rooms.values())
        self._count_changes(rooms, now)
        pace = interval([(room.cost, room.changes) for room in rooms if room.changes], self.lag,
                        longest=max((room.cost for room in rooms if now - room.last_tick < BUSY_SECONDS), default=0.0))
        metrics.tick_interval.set(pace)
        return [room for room in rooms if room.dirty and not room.ticking and now >= room.last_tick + pace]

    def _count_changes(self, rooms: list[Room], now: float) -> None:
        """Fold the changes marked since the last poll into each room's changes a second:
        each change adds 1 / CHANGE_SECONDS, and what was counted decays with time."""
        elapsed, self._counted_at = max(0.0, now - self._counted_at), now
        keep = math.exp(-elapsed / CHANGE_SECONDS)
        for room in rooms:
            room.changes = room.changes * keep + room.marks / CHANGE_SECONDS
            room.marks = 0

    async def _vouch(self, room_ids) -> None:
        """Tell the rooms' presence who this process has sockets for. One write at a time,
        each read as it starts: a beat's older list never lands after an arrival's."""
        async with self._vouching:
            await presence.vouch(self.writer, {room_id: self.rooms[room_id].people
                                               for room_id in room_ids if room_id in self.rooms})

    async def _mark_present(self, arrivals: set[int]) -> None:
        try:
            await self._vouch(arrivals)
        except (redis.RedisError, OSError):  # the next beat vouches for them
            log_event(log, "presence_failed", level=logging.WARNING, rooms=len(arrivals))

    async def tick(self, room: Room) -> None:
        started = time.perf_counter()
        parts, room.dirty = room.dirty, set()
        drawing = 0.0
        try:
            for part in sorted(parts):
                read, draw = self.parts[part]
                shown = await read(room)
                drawing += await self._draw(room, draw, shown)
        except Exception:
            log_event(log, "tick_failed", session=room.label, level=logging.ERROR, exc_info=True, room=room.id)
        finally:
            room.ticking = False
            room.cost = drawing if not room.cost else 0.7 * room.cost + 0.3 * drawing
        metrics.tick_seconds.observe(time.perf_counter() - started)

    async def _draw(self, room: Room, draw: Drawer, shown: Any) -> float:
        """Draw a part, step by step if the drawer is a generator (each `yield` ends a
        step); between steps the loop takes other work, the answers' batches first. The
        seconds spent drawing, what the room's pace is measured by."""
        began = time.perf_counter()
        steps = draw(room, shown) or iter(())  # a drawer that is no generator drew in the call
        more = next(steps, False) is None
        spent = self._drawn(began)
        while more:
            await asyncio.sleep(0)
            for first in batches.FIRST:  # answers go first: the leaderboard waits, "locked in" does not
                await first.settled(FIRST_WAIT_SECONDS)
            began = time.perf_counter()
            more = next(steps, False) is None
            spent += self._drawn(began)
        return spent

    def _drawn(self, began: float) -> float:
        """The seconds drawn since `began`, counted at once: the lag measured meanwhile
        leaves them out."""
        seconds = time.perf_counter() - began
        self.drawing += seconds
        return seconds

    async def _run_every(self, seconds: float, job: Job) -> None:
        while True:
            await asyncio.sleep(seconds)
            if not self.rooms:
                continue
            try:
                await job(list(self.rooms))
            except Exception:
                log.exception("hub job %s failed", getattr(job, "__name__", job))


hub = Hub()
REGISTRY.register(metrics.SocketCollector(lambda: hub.rooms))
