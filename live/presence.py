"""Who is connected to a room right now, across every web process.

Each web process writes the people it has sockets for into one Redis sorted set per room,
every PRESENCE_SECONDS, each with the instant their presence expires (three beats on); a
person counts as present while any process still vouches for them. A process that dies
stops vouching, and its people drop out by themselves. Used for "every connected player
has answered": the question may close early.
"""

import time

from django.conf import settings

from .redis import async_client, sync_client

BEATS = 3


def key(room_id: int) -> str:
    return f"elsa:present:{room_id}"


async def vouch(rooms: dict) -> None:
    """For the hub (every PRESENCE_SECONDS): this process's people, room by room."""
    await _mark({room_id: room.people for room_id, room in list(rooms.items()) if room.people})


async def arrive(arrivals: dict[int, set[int]]) -> None:
    """For the hub, within a poll of a person's first socket joining a room: present at
    once, not from the next beat (else one quick answer could close a question before
    they count). One pipeline for every arrival since the last poll, so a burst of
    thousands of connects costs a few Redis round trips, not one each."""
    await _mark(arrivals)


async def _mark(people_by_room: dict) -> None:
    """Present for the next BEATS beats: one pipeline for every room."""
    until = time.time() + BEATS * settings.ELSA["PRESENCE_SECONDS"]
    pipe = async_client().pipeline(transaction=False)
    for room_id, people in people_by_room.items():
        pipe.zadd(key(room_id), dict.fromkeys(map(str, people), until), gt=True)
        pipe.expire(key(room_id), int(BEATS * settings.ELSA["PRESENCE_SECONDS"]) + 5)
    await pipe.execute()


def present(room_id: int) -> set[int]:
    """The people connected to the room now, on any web process."""
    members: list = sync_client().zrangebyscore(key(room_id), time.time(), "+inf")
    return {int(member) for member in members}
