from datetime import datetime, timedelta, timezone

from leaderboard import board
from live.events import channel_for, decode
from live.redis import sync_client

EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def test_equal_scores_share_a_rank_and_the_next_rank_skips():
    board.record(session_id=1, epoch=EPOCH, entries=[
        (1, "ann", 300, at(3)), (2, "bob", 200, at(1)), (3, "cat", 200, at(2)), (4, "dan", 100, at(1)),
    ])
    top = board.top(session_id=1, limit=10)
    assert [(s.nickname, s.score, s.rank) for s in top.standings] == [
        ("ann", 300, 1), ("bob", 200, 2), ("cat", 200, 2), ("dan", 100, 4),
    ]
    assert board.rank_of(session_id=1, score=200) == 2
    assert board.rank_of(session_id=1, score=100) == 4


def test_among_equals_whoever_reached_the_score_first_is_shown_first_then_nickname():
    board.record(session_id=2, epoch=EPOCH, entries=[
        (1, "zed", 500, at(5)), (2, "amy", 500, at(9)), (3, "bea", 0, None), (4, "al", 0, None),
    ])
    names = [s.nickname for s in board.top(session_id=2, limit=10).standings]
    assert names == ["zed", "amy", "al", "bea"]


def test_writes_are_absolute_and_never_lower_a_total():
    board.record(session_id=3, epoch=EPOCH, entries=[(1, "ann", 900, at(4))])
    board.record(session_id=3, epoch=EPOCH, entries=[(1, "ann", 400, at(2))])  # a stale, reordered write
    board.record(session_id=3, epoch=EPOCH, entries=[(1, "ann", 900, at(4))])  # a retried write
    assert [(s.score, s.rank) for s in board.top(session_id=3, limit=10).standings] == [(900, 1)]


def test_every_write_bumps_the_version():
    before = board.top(session_id=4, limit=1).version
    board.record(session_id=4, epoch=EPOCH, entries=[(1, "ann", 10, at(1))])
    board.record(session_id=4, epoch=EPOCH, entries=[(1, "ann", 20, at(2))])
    assert board.top(session_id=4, limit=1).version == before + 2


def test_the_json_format_is_the_original_demos():
    board.record(session_id=5, epoch=EPOCH, entries=[(7, "ann", 158, at(1))])
    assert [s.as_json() for s in board.top(session_id=5, limit=10).standings] == [
        {"PlayerID": "ann", "Score": 158.0, "Rank": 1}
    ]


def test_nicknames_with_colons_survive_the_member_encoding():
    board.record(session_id=6, epoch=EPOCH, entries=[(7, "a:b", 1, at(1))])
    assert board.top(session_id=6, limit=1).standings[0].nickname == "a:b"


def test_many_sessions_are_written_and_told_at_once_each_to_its_own_screens():
    listener = sync_client().pubsub()
    listener.subscribe(channel_for(8), channel_for(9))
    for _ in range(2):
        assert listener.get_message(timeout=2)["type"] == "subscribe"
    before = {sid: board.top(session_id=sid, limit=1).version for sid in (8, 9)}
    versions = board.record_many([
        (8, EPOCH, [(1, "ann", 30, at(1)), (2, "bob", 20, at(2))]),
        (9, EPOCH, []),  # nothing to write: no version, no event
        (9, EPOCH, [(3, "cat", 50, at(1))]),
    ])
    assert versions == {8: before[8] + 1, 9: before[9] + 1}
    assert [(s.nickname, s.score) for s in board.top(session_id=8, limit=10).standings] == [("ann", 30), ("bob", 20)]
    assert [(s.nickname, s.score) for s in board.top(session_id=9, limit=10).standings] == [("cat", 50)]
    told = [listener.get_message(timeout=2) for _ in range(2)]
    assert sorted(((m["channel"].decode(), decode(m["data"])) for m in told), key=str) == [
        (channel_for(8), board.BoardChanged(items=[[1, 30], [2, 20]], version=versions[8])),
        (channel_for(9), board.BoardChanged(items=[[3, 50]], version=versions[9])),
    ]
    assert listener.get_message(timeout=0.3) is None
    listener.close()
