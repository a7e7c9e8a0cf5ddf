"""A session's leaderboard in Redis: a cache of the database, never the truth.

One sorted set per session. The score packs the points and, for equal points, who
reached them first, into one exact double, stored negated:

    stored = -(points * 2**28 + (2**28 - 1 - centiseconds from session start to reach))

so that ZRANGE (ascending) lists the board in standing order, and Redis orders members of
equal score by the member itself: "<lowercase nickname> US <id> US <nickname>" (US = the
unit separator, which nicknames cannot contain) puts equals in nickname order. The first
N of a ZRANGE are then exactly the top N of decision 6, with no re-sorting that a window
boundary could cut differently.

Writers always ZADD ... LT the absolute total read from the database, never increment:
a retried or reordered write cannot double-count or go backwards, because a player's
points only grow.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from live.events import publish, publish_many
from live.redis import async_client, sync_client

from .events import BoardChanged

REACH_BITS = 28
REACH_SPAN = 2**REACH_BITS
MAX_POINTS = 2 ** (53 - REACH_BITS) - 1

Totals = list[tuple[int, str, int, datetime | None]]  # (participant id, nickname, points, reached at)


def board_key(session_id: int) -> str:
    return f"elsa:lb:{session_id}"


def version_key(session_id: int) -> str:
    return f"elsa:lb:{session_id}:v"


def built_key(session_id: int) -> str:
    return f"elsa:lb:{session_id}:built"


SEPARATOR = "\x1f"


def member(participant_id: int, nickname: str) -> str:
    return f"{nickname.lower()}{SEPARATOR}{participant_id}{SEPARATOR}{nickname}"


def composite(points: int, reached_at: datetime | None, epoch: datetime) -> float:
    points = min(max(points, 0), MAX_POINTS)
    if reached_at is None:
        reach = REACH_SPAN - 1
    else:
        reach = min(max(int((reached_at - epoch).total_seconds() * 100), 0), REACH_SPAN - 1)
    return float(points * REACH_SPAN + (REACH_SPAN - 1 - reach))


def points_of(composite_score: float) -> int:
    return int(composite_score) // REACH_SPAN


@dataclass(frozen=True)
class Standing:
    participant_id: int
    nickname: str
    score: int
    rank: int

    def as_json(self) -> dict:
        """The original demo's format."""
        return {"PlayerID": self.nickname, "Score": float(self.score), "Rank": self.rank}


@dataclass(frozen=True)
class Board:
    standings: list[Standing]
    players: int
    version: int
    built: bool


def competition_ranks(scores: list[int]) -> list[int]:
    """Ranks for scores already in standing order: equal scores share a rank (1, 2, 2, 4).

    The one place decision 6's rank rule lives; the order itself is the caller's."""
    ranks: list[int] = []
    for position, score in enumerate(scores):
        ranks.append(ranks[-1] if ranks and scores[position - 1] == score else position + 1)
    return ranks


def _rank_entries(entries: Any) -> list[Standing]:
    """Rank a prefix of the board, already in standing order (see the module docstring)."""
    parsed = []
    for raw, stored in entries:
        _, pid, nickname = raw.decode().split(SEPARATOR, 2)
        parsed.append((int(pid), nickname, points_of(-stored)))
    ranks = competition_ranks([points for _, _, points in parsed])
    return [Standing(pid, nickname, points, rank) for (pid, nickname, points), rank in zip(parsed, ranks)]


def _queue_top(pipe, session_id: int, limit: int) -> None:
    pipe.zrange(board_key(session_id), 0, limit - 1, withscores=True)
    pipe.zcard(board_key(session_id))
    pipe.get(version_key(session_id))
    pipe.exists(built_key(session_id))


def _board(results: list) -> Board:
    entries, players, version, built = results
    return Board(_rank_entries(entries), int(players), int(version or 0), bool(built))


def top(*, session_id: int, limit: int) -> Board:
    pipe = sync_client().pipeline(transaction=False)
    _queue_top(pipe, session_id, limit)
    return _board(pipe.execute())


async def top_async(*, session_id: int, limit: int) -> Board:
    pipe = async_client().pipeline(transaction=False)
    _queue_top(pipe, session_id, limit)
    return _board(await pipe.execute())


def all_ranks(*, session_id: int) -> dict[int, Standing]:
    entries = sync_client().zrange(board_key(session_id), 0, -1, withscores=True)
    return {s.participant_id: s for s in _rank_entries(entries)}


def rank_of(*, session_id: int, score: int) -> int:
    higher = sync_client().zcount(board_key(session_id), "-inf", -((score + 1) * REACH_SPAN))
    return int(higher) + 1


def record(*, session_id: int, epoch: datetime, entries: Totals) -> int:
    """Write absolute totals: (participant id, nickname, points, reached at) each, and
    tell every screen (a BoardChanged event with the totals and the new version: a frame
    showing this version or a later one includes these totals).

    Call it after the commit that made these totals: the board follows the database."""
    return record_many([(session_id, epoch, entries)]).get(session_id, 0)


def record_many(boards: list[tuple[int, datetime, Totals]]) -> dict[int, int]:
    """`record` for several sessions (session id, epoch, entries each) in two round trips
    to Redis whatever their number: one for the writes, one for the events. The version
    each session's board reached, by session id."""
    boards = [one for one in boards if one[2]]
    if not boards:
        return {}
    versions = _write_many(boards)
    publish_many([(session_id, BoardChanged(items=[[pid, pts] for pid, _, pts, _ in entries], version=version))
                  for (session_id, _, entries), version in zip(boards, versions)])
    return {session_id: version for (session_id, _, _), version in zip(boards, versions)}


def _write(session_id: int, epoch: datetime, entries: Totals) -> int:
    return _write_many([(session_id, epoch, entries)])[0]


def _write_many(boards: list[tuple[int, datetime, Totals]]) -> list[int]:
    pipe = sync_client().pipeline(transaction=True)
    for session_id, epoch, entries in boards:
        mapping = {member(pid, nick): -composite(pts, at, epoch) for pid, nick, pts, at in entries}
        # LT still adds new members; it only refuses to lower an existing player's total
        # (scores are stored negated).
        if mapping:
            pipe.zadd(board_key(session_id), mapping, lt=True)
        pipe.incr(version_key(session_id))
    results = pipe.execute()
    versions, n = [], 0
    for _, _, entries in boards:
        n += 2 if entries else 1
        versions.append(int(results[n - 1]))
    return versions


def rebuild(*, session_id: int, epoch: datetime, entries: Totals) -> None:
    """Fill the board from the database's totals; safe beside concurrent writers (LT keeps
    the best total). Screens redraw it; the event names no one (everyone's total is in
    the reveal that follows a rebuild, or in a socket's snapshot)."""
    version = _write(session_id, epoch, entries)
    sync_client().set(built_key(session_id), 1)
    publish(session_id, BoardChanged(items=[], version=version))


def remove(*, session_id: int, participant_id: int, nickname: str) -> None:
    """Take a player off the board (removed by the host); screens redraw it."""
    pipe = sync_client().pipeline(transaction=True)
    pipe.zrem(board_key(session_id), member(participant_id, nickname))
    pipe.incr(version_key(session_id))
    version = int(pipe.execute()[-1])
    publish(session_id, BoardChanged(items=[], version=version))
