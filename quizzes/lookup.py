"""How the leaderboard finds a quiz's board by the code a visitor names (its page and
its sockets are the leaderboard's; codes, and the guess budget, are the quiz's)."""

from leaderboard.lookup import BoardRef, LookupRefused

from . import live, partials, selectors, services


def find_board(*, code: str, client: str) -> BoardRef | None:
    try:
        session = services.session_for_visitor(code=code, client=client)
    except services.JoinError as error:
        raise LookupRefused(error.message) from None
    if session is None:
        return None
    def status() -> str:
        kept = live.last_screen_status(session.pk)
        if kept:
            return kept
        fresh = selectors.session_by_code(session.code)
        if fresh is None:
            return ""
        return live.keep_screen_status(
            session.pk, partials.screen_status({"session": fresh, "current": selectors.round_view(fresh)}))

    return BoardRef(session_id=session.pk, code=session.code, title=session.quiz.title, status=status)
