"""The leaderboard as a screen shows it: an htmx fragment, or the original demo's JSON."""

import json

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .board import Board


def board_html(standings: Board, *, title: str = "Leaderboard") -> str:
    top = standings.standings[: settings.ELSA["LEADERBOARD_SIZE"]]
    return render_to_string("leaderboard/_leaderboard.html", {"board": standings, "standings": top, "title": title})


def rank_badge(rank: int | None) -> SafeString:
    """A player's own rank badge (#my-rank), escaped like any template value; no template
    render: it goes to each player with every board frame they get."""
    return format_html('<span id="my-rank" class="me-rank">{}</span>', f"#{int(rank)}" if rank else "")


def ranks_on(standings: Board) -> dict[int, int]:
    """Each listed player's rank on this board, by participant id (the board's read prefix:
    a player past it is not in here)."""
    return {s.participant_id: s.rank for s in standings.standings}


def board_json(standings: Board) -> str:
    return json.dumps([s.as_json() for s in standings.standings[: settings.ELSA["LEADERBOARD_JSON_SIZE"]]])
