"""The leaderboard as a screen shows it: an htmx fragment, or the original demo's JSON."""

import json

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from .board import Board


def board_html(standings: Board, *, title: str = "Leaderboard") -> str:
    top = standings.standings[: settings.ELSA["LEADERBOARD_SIZE"]]
    return render_to_string("leaderboard/_leaderboard.html", {"board": standings, "standings": top, "title": title})


def rank_badge(rank: int | None) -> SafeString:
    """A player's own rank badge (#my-rank). Plain formatting (of a number): it goes to
    each player with every board frame they get."""
    return mark_safe(f'<span id="my-rank" class="me-rank">{f"#{int(rank)}" if rank else ""}</span>')


def rank_on(standings: Board, participant_id: int) -> int | None:
    """The player's rank on this board, or None if its read prefix does not reach them."""
    return next((s.rank for s in standings.standings if s.participant_id == participant_id), None)


def board_json(standings: Board) -> str:
    return json.dumps([s.as_json() for s in standings.standings[: settings.ELSA["LEADERBOARD_JSON_SIZE"]]])
