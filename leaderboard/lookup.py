"""How the leaderboard finds a board by the code in a URL, without knowing quizzes.

A code is the quiz's business: the routes (elsa/urls.py, elsa/asgi.py) hand the
leaderboard's view and consumer a function that finds the board a visitor names."""

from dataclasses import dataclass
from typing import Awaitable, Callable


def _nothing() -> str:
    return ""


def _not_kept() -> str | None:
    return None


@dataclass(frozen=True)
class BoardRef:
    session_id: int
    code: str
    title: str
    # The owner's panel beside the big screen's board (how to join, the question and its
    # timer) as HTML, rendered when a page or a screen's socket asks for it.
    status: Callable[[], str] = _nothing
    # The same panel if this process already holds it, else None: no I/O, so a socket's
    # snapshot reads it on the event loop and calls `status` on a thread only without it.
    kept_status: Callable[[], str | None] = _not_kept


class LookupRefused(Exception):
    """The visitor may not look up codes now (too many wrong guesses): a clear refusal."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# find_board(code=..., client=<address>) -> BoardRef | None, or raises LookupRefused;
# the sockets' is a coroutine function, answered on the event loop where it can be.
FindBoard = Callable[..., BoardRef | None]
FindBoardAsync = Callable[..., Awaitable[BoardRef | None]]
