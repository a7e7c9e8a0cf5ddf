"""The leaderboard's live event."""

from dataclasses import dataclass

from live.events import Event


@dataclass(frozen=True)
class BoardChanged(Event, name="board"):
    """Totals written to a session's board: [[participant id, points], ...], and the board
    version that includes them."""

    items: list
    version: int
