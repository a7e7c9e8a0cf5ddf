"""How the leaderboard finds a quiz's board by the code a visitor names (its page and
its sockets are the leaderboard's; codes, and the guess budget, are the quiz's)."""

import time

from leaderboard.lookup import BoardRef, LookupRefused

from . import live, partials, selectors, services

# A session's id, code and title do not change while it runs, so each process remembers
# the boards it found for a minute: a crowd of screens connecting to one quiz costs one
# query, not one each (profiled: a third of the web process in a burst of 2,000 connects,
# mostly building the query). Only found boards are kept; unknown codes are always asked.
# (The first screen's panel then reads the session again, fresh: the board is kept for a
# minute, the panel only until the room's next stage change.)
REMEMBER_SECONDS = 60.0
REMEMBER_AT_MOST = 10_000
_found: dict[str, tuple[float, BoardRef]] = {}


def find_board(*, code: str, client: str) -> BoardRef | None:
    """For a page (sync)."""
    try:
        return services.visitor_lookup(code=code, client=client, find=_board_by_code)
    except services.JoinError as error:
        raise LookupRefused(error.message) from None


async def find_board_async(*, code: str, client: str) -> BoardRef | None:
    """For a socket, on the event loop: a remembered board costs no hop to a thread."""
    try:
        return await services.visitor_lookup_async(code=code, client=client, remembered=_remembered,
                                                   find=_board_by_code)
    except services.JoinError as error:
        raise LookupRefused(error.message) from None


def _remembered(code: str) -> BoardRef | None:
    kept = _found.get(code)
    return kept[1] if kept is not None and kept[0] > time.monotonic() else None


def _board_by_code(code: str) -> BoardRef | None:
    ref = _remembered(code)
    if ref is not None:
        return ref
    session = selectors.session_by_code(code)
    if session is None:
        return None
    session_id = session.pk

    def kept_status() -> str | None:
        return live.last_screen_status(session_id)

    def status() -> str:
        kept = kept_status()
        if kept:
            return kept
        fresh = selectors.session_by_code(code)
        if fresh is None:
            return ""
        return live.keep_screen_status(
            session_id, partials.screen_status({"session": fresh, "current": selectors.round_view(fresh)}))

    ref = BoardRef(session_id=session_id, code=session.code, title=session.quiz.title, status=status,
                   kept_status=kept_status)
    if len(_found) >= REMEMBER_AT_MOST:  # called from several database threads: no LRU, start over
        _found.clear()
    _found[code] = (time.monotonic() + REMEMBER_SECONDS, ref)
    return ref
