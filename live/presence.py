"""Who is connected to a room right now, across every web process.

Each web process writes the people it has sockets for into one Redis hash per room, every
PRESENCE_SECONDS: its own field, holding the instant its word expires (three beats on)
and their ids. A person counts as present while any process's unexpired field names
them. A process that dies stops writing, and its people drop out by themselves; a person
who leaves drops out at the next beat (or, when their room is gone from the process, as
its word expires). Used for "every connected player has answered": the question may
close early.

One short string per room and process, not one sorted-set member per person: a beat of
200 rooms of 20 cost the event loop 35-47 ms as ZADDs of every member, about a third of
that as one field per room (measured with redis-py and hiredis on this machine's Redis).
"""

import time
from collections.abc import Collection

from django.conf import settings

from .redis import async_client, sync_client

BEATS = 3


def key(room_id: int) -> str:
    return f"elsa:present:{room_id}"


async def vouch(writer: str, people_by_room: dict[int, Collection[int]]) -> None:
    """For the hub: `writer` (one per process) has sockets for these people, room by room;
    every PRESENCE_SECONDS for all its rooms, and within a poll for a room a person
    joins (present at once, not from the next beat, else one quick answer could close a
    question before they count). One pipeline, whatever the number of rooms."""
    await _write(async_client().pipeline(transaction=False), writer, people_by_room).execute()


def vouch_now(writer: str, people_by_room: dict[int, Collection[int]], seconds: float | None = None) -> None:
    """`vouch` from sync code, as a web process would, for `seconds` (default three beats)."""
    _write(sync_client().pipeline(transaction=False), writer, people_by_room, seconds).execute()


def _write(pipe, writer: str, people_by_room: dict[int, Collection[int]], seconds: float | None = None):
    seconds = seconds or BEATS * settings.ELSA["PRESENCE_SECONDS"]
    until = time.time() + seconds
    for room_id, people in people_by_room.items():
        pipe.hset(key(room_id), writer, f"{until:.3f}:{','.join(map(str, people))}")
        pipe.expire(key(room_id), int(seconds) + 5)
    return pipe


def present(room_id: int) -> set[int]:
    """The people connected to the room now, on any web process."""
    return present_in([room_id])[room_id]


def present_in(room_ids: Collection[int]) -> dict[int, set[int]]:
    """The people connected to each room now, on any web process: one round trip,
    whatever the number of rooms (a web process's deadline poll asks for all of its own)."""
    pipe = sync_client().pipeline(transaction=False)
    for room_id in room_ids:
        pipe.hvals(key(room_id))
    now, found = time.time(), {}
    for room_id, words in zip(room_ids, pipe.execute()):
        people = found[room_id] = set[int]()
        for word in words:
            until, _, ids = word.decode().partition(":")
            if float(until) > now and ids:
                people.update(map(int, ids.split(",")))
    return found
