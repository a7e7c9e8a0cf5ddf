"""What a changed board means on screen: installed into the hub at start-up.

A BoardChanged event marks the room's board to redraw; on the room's next tick the
board is read from Redis once, rendered once as HTML and once as JSON, and offered to
every socket: JSON to the feed's sockets, HTML to all others.
"""

import weakref
from typing import Callable, Iterator

from django.conf import settings

from live.hub import Hub, Room, send_all, send_in_steps
from live.threads import db

from . import board, partials
from .events import BoardChanged

BOARD = "board"
FEED = "feed"  # the kind of socket that gets the board as JSON

_rebuild: Callable[[int], None] | None = None
# The board each room's last HTML frame shows: a connecting player's rank badge comes
# from the same board as the frame they are sent (one rank everywhere).
_shown: "weakref.WeakKeyDictionary[Room, board.Board]" = weakref.WeakKeyDictionary()


def rebuild_with(rebuild: Callable[[int], None]) -> None:
    """How to refill a session's board from the database when Redis has lost it: the
    board is a cache of totals kept by the app that owns them."""
    global _rebuild
    _rebuild = rebuild


async def current_board(session_id: int) -> board.Board:
    """The top of the board from Redis, rebuilt from the database if Redis lost it."""
    limit = max(settings.ELSA["LEADERBOARD_SIZE"], settings.ELSA["LEADERBOARD_JSON_SIZE"])
    standings = await board.top_async(session_id=session_id, limit=limit)
    if not standings.built and _rebuild is not None:
        await db(_rebuild)(session_id)
        standings = await board.top_async(session_id=session_id, limit=limit)
    return standings


def current_board_now(session_id: int, limit: int) -> board.Board:
    """current_board for a page view (sync): a page drawn after Redis lost the board shows
    the database's totals, not an empty board."""
    standings = board.top(session_id=session_id, limit=limit)
    if not standings.built and _rebuild is not None:
        _rebuild(session_id)
        standings = board.top(session_id=session_id, limit=limit)
    return standings


async def board_frame(hub: Hub, session_id: int, *, json_feed: bool = False, person_id: int | None = None) -> str:
    """The board frame for a connecting socket's snapshot: the room's last frame if it has
    one (a burst of thousands of connects must not read Redis once each), else read now.
    A player's frame carries their rank badge from that same board."""
    room = hub.rooms.get(session_id)
    if json_feed:
        if room is not None and "json" in room.frames:
            return room.frames["json"]
        frame = partials.board_json(await current_board(session_id))
        if room is not None:
            room.frames["json"] = frame
        return frame
    shown = _shown.get(room) if room is not None else None
    if room is not None and "html" in room.frames and shown is not None:
        frame, standings = room.frames["html"], shown
    else:
        standings = await current_board(session_id)
        frame = partials.board_html(standings)
        if room is not None:
            room.frames["html"], _shown[room] = frame, standings
    return frame + _badge(partials.ranks_on(standings), person_id)


def _badge(ranks: dict[int, int], person_id: int | None) -> str:
    rank = ranks.get(person_id) if person_id is not None else None
    return partials.rank_badge(rank) if rank is not None else ""


def on_board_changed(room: Room, event: BoardChanged) -> None:
    room.mark(BOARD)


async def read_board(room: Room) -> board.Board:
    return await current_board(room.id)


def draw_board(room: Room, standings: board.Board) -> Iterator[None]:
    """In steps (send_in_steps): a room of thousands does not hold the loop in one go."""
    ranks = partials.ranks_on(standings)  # the listed players: they get their badge too
    rendered: dict[str, str] = {}  # each format rendered once per tick
    for kind, clients in list(room.by_kind.items()):
        if not clients:
            continue
        key = "json" if kind == FEED else "html"
        if key not in rendered:
            frame = partials.board_json(standings) if key == "json" else partials.board_html(standings)
            rendered[key] = room.frames[key] = frame
            if key == "html":
                _shown[room] = standings
        if key == "json":
            yield from send_in_steps(clients, BOARD, rendered[key])
        else:  # one shared frame for all but the listed players (their badge says where they are)
            yield from send_in_steps([c for c in clients if c.person_id not in ranks], BOARD, rendered[key])
    if "html" in rendered:
        # A listed player's sockets get the board with their own rank on it, in one frame:
        # at most the board's read prefix of frames of their own, however big the room.
        for person_id, rank in ranks.items():
            mine = room.people.get(person_id)
            if mine:
                send_all(mine, BOARD, rendered["html"] + partials.rank_badge(rank))
    for key in ("html", "json"):
        if key not in rendered:  # no socket wanted this format: its cached frame is stale now
            room.frames.pop(key, None)


def install(hub: Hub) -> None:
    hub.on(BoardChanged, on_board_changed)
    hub.redraw(BOARD, read_board, draw_board)
