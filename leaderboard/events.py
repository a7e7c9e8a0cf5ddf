"""The leaderboard's live event."""

from live.events import Event, event


@event("board")
class BoardChanged(Event):
    """Totals written to a session's board: [[participant id, points], ...], and the board
    version that includes them."""

    items: list
    version: int
