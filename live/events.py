"""Live events: typed, published on a room's Redis channel after the database commit.

A part of the project declares its events (subclasses of `Event`), publishes
them with `publish_on_commit(room_id, event)` (a batch's with `publish_many_on_commit`)
from inside a service's transaction, and installs what each event means on screen into
the hub (`hub.on`). Every web process that has sockets in the room receives each event
once and turns it into frames for its own sockets. Sent after commit, so a viewer never
sees a state the database does not have.
"""

import json
import logging
from dataclasses import asdict, dataclass
from typing import Callable, ClassVar

import redis
from django.db import transaction

from monitoring.logs import event as log_event

from .redis import sync_client

log = logging.getLogger(__name__)

CHANNEL_PATTERN = "elsa:session:*"


_kinds: dict[str, type["Event"]] = {}


@dataclass(frozen=True)
class Event:
    """An event type is a frozen dataclass of JSON values, known by its `name` on the wire:

        @dataclass(frozen=True)
        class BoardChanged(Event, name="board"):
            items: list
            version: int
    """

    name: ClassVar[str]

    def __init_subclass__(cls, *, name: str, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.name = name
        _kinds[name] = cls


def channel_for(room_id: int) -> str:
    return CHANNEL_PATTERN.replace("*", str(room_id))


def encode(item: Event) -> str:
    return json.dumps({"t": item.name, **asdict(item)}, separators=(",", ":"))


def decode(data: bytes | str) -> Event | None:
    """The event in a message, or None for a name no part of this process declared."""
    fields = json.loads(data)
    kind = _kinds.get(fields.pop("t", None))
    return kind(**fields) if kind is not None else None


def publish(room_id: int, item: Event) -> None:
    """Publish now: for code that runs after its commit already (an on_commit hook)."""
    publish_many([(room_id, item)])


def publish_many(items: list[tuple[int, Event]]) -> None:
    """Publish several events, each to its room, in one round trip to Redis: a batch of
    answers from 200 sessions is one pipeline, not 200 waits (docs/performance.md)."""
    if not items:
        return
    try:
        pipe = sync_client().pipeline(transaction=False)
        for room_id, item in items:
            pipe.publish(channel_for(room_id), encode(item))
        pipe.execute()
    except redis.RedisError:
        # Live pushes are best effort: the database has the truth, and every client
        # gets a full snapshot when it (re)connects.
        log_event(log, "publish_failed", level=logging.WARNING, exc_info=True,
                  rooms=",".join(sorted({str(room_id) for room_id, _ in items})),
                  types=",".join(sorted({item.name for _, item in items})))


def publish_on_commit(room_id: int, item: Event | Callable[[], Event]) -> None:
    """Publish once the current transaction commits (at once outside one). A callable is
    called then, so an event that renders the new state reads what was committed."""
    transaction.on_commit(lambda: publish(room_id, item() if callable(item) else item))


def publish_many_on_commit(items: list[tuple[int, Event]]) -> None:
    """Publish several events, in one round trip, once the current transaction commits."""
    transaction.on_commit(lambda: publish_many(items))
