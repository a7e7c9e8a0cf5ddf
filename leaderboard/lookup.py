"""How the leaderboard finds a board by the code in a URL, without knowing quizzes.

A code is the quiz's business: the routes (elsa/urls.py, elsa/asgi.py) hand the
leaderboard's view and consumer a function that finds the board a visitor names."""

from dataclasses import dataclass
from typing import Callable


def _nothing() -> str:
    return ""


@dataclass(frozen=True)
class BoardRef:
    session_id: int
    code: str
    title: str
    # The owner's panel beside the big screen's board (how to join, the question and its
    # timer) as HTML, rendered when a page or a screen's socket asks for it.
    status: Callable[[], str] = _nothing


class LookupRefused(Exception):
    """The visitor may not look up codes now (too many wrong guesses): a clear refusal."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# find_board(code=..., client=<address>) -> BoardRef | None, or raises LookupRefused.
FindBoard = Callable[..., BoardRef | None]
