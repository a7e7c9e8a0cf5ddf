"""The leaderboard as a screen shows it: an htmx fragment, or the original demo's JSON."""

import json

from django.conf import settings
from django.template.loader import render_to_string

from .board import Board


def board_html(standings: Board, *, title: str = "Leaderboard") -> str:
    top = standings.standings[: settings.ELSA["LEADERBOARD_SIZE"]]
    return render_to_string("leaderboard/_leaderboard.html", {"board": standings, "standings": top, "title": title})


def board_json(standings: Board) -> str:
    return json.dumps([s.as_json() for s in standings.standings[: settings.ELSA["LEADERBOARD_JSON_SIZE"]]])
