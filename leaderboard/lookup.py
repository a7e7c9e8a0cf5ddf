"""How the leaderboard finds a board by the code in a URL, without knowing quizzes.

A code is the quiz's business: the routes (elsa/urls.py, elsa/asgi.py) hand the
leaderboard's view and consumer a function that finds the board a visitor names."""

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class BoardRef:
    session_id: int
    code: str
    title: str


class LookupRefused(Exception):
    """The visitor may not look up codes now (too many wrong guesses): a clear refusal."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# find_board(code=..., client=<address>) -> BoardRef | None, or raises LookupRefused.
FindBoard = Callable[..., BoardRef | None]
