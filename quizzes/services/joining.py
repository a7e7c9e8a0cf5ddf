"""Joining a session: codes, the join limits, and a player's arrival."""

import logging
import time
from typing import Callable, TypeVar

import redis
from django.conf import settings
from django.db import IntegrityError, transaction

from leaderboard import board
from live.events import publish_on_commit
from live.limits import address_key
from live.redis import async_client, sync_client
from live.threads import db
from monitoring.logs import event as log_event

from ..errors import JoinError
from ..events import Joined
from ..models import JOIN_CODE_LENGTH, Participant, QuizSession, is_join_code
from ..nicknames import clean_nickname

log = logging.getLogger(__name__)
State = QuizSession.State
Found = TypeVar("Found")


def clean_code(raw: object) -> str:
    if not isinstance(raw, str):
        return ""
    return raw.strip().upper().replace(" ", "")[:JOIN_CODE_LENGTH * 2]


def participant_join(
    *,
    code: str,
    nickname: str,
    client: str | None = None,
    bot_accuracy: float | None = None,
    bot_speed: float | None = None,
) -> Participant:
    """A player joins by code and nickname. With `client` (the address a person joins
    from), the join limits apply: code guesses and join attempts per address."""
    code = clean_code(code)
    session = session_for_visitor(code=code, client=client) if client is not None else _session_by_code(code)
    if session is None:
        raise JoinError("No quiz has that code. Check the code on the screen.", code="code")
    if client is not None and not join_attempt_allowed(client=client, session_id=session.pk):
        raise JoinError("Too many join attempts from this network. Wait a minute and try again.", code="throttled")
    if session.state == State.FINISHED:
        raise JoinError("That quiz has finished.", code="code")
    if session.locked:
        raise JoinError("The host has locked this quiz: no one new can join.", code="locked")
    nickname = clean_nickname(nickname)
    try:
        with transaction.atomic():
            participant = Participant.objects.create(
                session=session,
                nickname=nickname,
                is_bot=bot_accuracy is not None,
                bot_accuracy=bot_accuracy or 0.0,
                bot_speed=bot_speed or 0.0,
            )
            transaction.on_commit(lambda: _after_join(session, participant))
            publish_on_commit(session.pk, Joined())
    except IntegrityError:  # the same name in another case, or one that looks the same
        raise JoinError("That nickname, or one that looks the same, is taken in this quiz. Choose another.",
                        code="nickname") from None
    return participant


def _session_by_code(code: str) -> QuizSession | None:
    return QuizSession.objects.select_related("quiz").filter(code=code).first() if is_join_code(code) else None


def session_for_visitor(*, code: str, client: str) -> QuizSession | None:
    """The session a visitor names by its code (None if there is none), counting unknown
    codes as guesses (see `visitor_lookup`)."""
    return visitor_lookup(code=code, client=client, find=_session_by_code)


def visitor_lookup(*, code: str, client: str, find: Callable[[str], Found | None]) -> Found | None:
    """What `find` knows by the code a visitor names (None: no such code), counting unknown
    codes as guesses: JOIN_GUESSES_PER_MINUTE per address (0: no limit).

    The budget is checked before the lookup, so past it a right code is refused too:
    otherwise the refusals themselves would tell right codes from wrong ones."""
    limit, key = _guess_budget(client)
    if limit and _read(key) >= limit:
        raise JoinError("Too many wrong codes from this network. Wait a minute and try again.", code="throttled")
    found = find(clean_code(code))
    if found is None and limit:
        _add(key)
    return found


async def visitor_lookup_async(
    *, code: str, client: str, remembered: Callable[[str], Found | None], find: Callable[[str], Found | None]
) -> Found | None:
    """`visitor_lookup` for the sockets. A code this process remembers (`remembered`: no
    I/O) from an address within its budget is answered on the event loop, after one
    Redis read; anything else goes through `visitor_lookup` on a database thread. In a
    crowd of screens connecting, the hop to a thread and back cost the web process more
    than all the rest of a connect (measured, 2,000 connects: web CPU 4.3-5.0 s -> 2.5-3.0 s)."""
    limit, key = _guess_budget(client)
    found = remembered(clean_code(code))
    if found is not None and not (limit and await _read_async(key) >= limit):
        return found
    return await db(visitor_lookup)(code=code, client=client, find=find)


def _guess_budget(client: str) -> tuple[int, str]:
    """The guesses an address may make per minute (0: no limit), and this minute's counter."""
    return settings.ELSA["JOIN_GUESSES_PER_MINUTE"], f"elsa:guesses:{address_key(client)}:{int(time.time() // 60)}"


def join_attempt_allowed(*, client: str, session_id: int) -> bool:
    """At most JOINS_PER_MINUTE attempts to join one session per client address (0: no limit).

    Generous on purpose: a whole school often shares one address behind its NAT (300
    pupils join within a minute). Counted per session, so attempts at one session never
    use up an address's budget for another, and wrong codes have their own budget."""
    limit = settings.ELSA["JOINS_PER_MINUTE"]
    if not limit:
        return True
    return _add(f"elsa:joins:{address_key(client)}:{session_id}:{int(time.time() // 60)}") <= limit


def _add(key: str) -> int:
    """Add one to a per-minute counter in Redis; its new value. If Redis is unreachable it
    reads 0: joins are allowed rather than refused."""
    try:
        pipe = sync_client().pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 120)
        return pipe.execute()[0]
    except redis.RedisError:
        return 0


def _read(key: str) -> int:
    """A per-minute counter's value (0 if Redis is unreachable, as `_add`)."""
    try:
        return int(sync_client().get(key) or 0)
    except redis.RedisError:
        return 0


async def _read_async(key: str) -> int:
    """`_read` from the event loop."""
    try:
        return int(await async_client().get(key) or 0)
    except redis.RedisError:
        return 0


def _after_join(session: QuizSession, participant: Participant) -> None:
    try:
        board.record(
            session_id=session.pk,
            epoch=session.created_at,
            entries=[(participant.pk, participant.nickname, 0, None)],
        )
    except redis.RedisError:
        # The join stands (it is committed); the board gains the player at the next
        # scored answer or round close (_resync_board), or when it is rebuilt.
        log_event(log, "board_write_failed", session=session.code, level=logging.WARNING, exc_info=True,
                  participant=participant.pk)
    log_event(log, "player_joined", session=session.code, participant=participant.pk,
              nickname=participant.nickname, bot=participant.is_bot)
