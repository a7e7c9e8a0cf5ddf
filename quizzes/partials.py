"""Every quiz fragment, rendered from data the selectors read: the same partials serve the
first page, the htmx response and the WebSocket push.

Each fragment's root element has a stable id; htmx's ws extension swaps it in place.
Nothing here puts the correct choice into a fragment before its round has closed (the
selectors leave it out of an open round's view).
"""

from functools import lru_cache

from django.conf import settings
from django.template.loader import render_to_string

from leaderboard.partials import rank_badge

from . import rules
from .models import Answer
from .selectors import Result


def player_stage(view: dict, *, answer: Answer | None = None, result: Result | None = None) -> str:
    """The player's stage; `view` holds the session and its `current` round_view."""
    result_html = player_result(state=view["session"].state, result=result) if result else ""
    context = {**view["current"], "session": view["session"], "answer": answer, "result_html": result_html,
               "nickname": view.get("nickname", "")}
    return render_to_string("quizzes/_stage.html", context)


def player_page(view: dict) -> dict[str, str]:
    """A player's stage and badge, from selectors.player_view."""
    return {
        "stage": player_stage(view, answer=view["answer"], result=view["result"]),
        "me": me(nickname=view["nickname"], score=view["score"], rank=view["rank"]),
    }


def locked_in(answer: Answer) -> str:
    return _locked_in(answer.choice.text if answer.choice else answer.text)


# Every answer is a "locked in" frame, and players who tapped the same choice get the same
# one: rendered once per choice text, not once per answer (template rendering was a tenth
# of a web process's time under 10,000 players, profiled).
@lru_cache(maxsize=4096)
def _locked_in(shown: str) -> str:
    return render_to_string("quizzes/_locked.html", {"answer": {"text": shown}})


def player_result(*, state: str, result: Result | None) -> str:
    """A player's own result: what they gave, and their points taken apart (the streak
    bonus is the rule's; the rest is the answer's own, speed and spelling included)."""
    bonus = min(rules.streak_bonus(result.streak), result.points) if result and result.correct else 0
    context = {"state": state, "result": result, "bonus": bonus, "base": result.points - bonus if result else 0}
    return render_to_string("quizzes/_result.html", context)


def me(*, nickname: str, score: int, rank: int | None) -> str:
    return render_to_string("quizzes/_me.html", {"nickname": nickname, "score": score, "rank_badge": rank_badge(rank)})


@lru_cache(maxsize=4096)  # one per scored answer, and scores repeat
def my_score(score: int) -> str:
    return render_to_string("quizzes/_my_score.html", {"score": score})


@lru_cache(maxsize=64)
def flash(message: str) -> str:
    return render_to_string("quizzes/_flash.html", {"message": message})


def host_stage(view: dict) -> str:
    """The host's stage, from selectors.host_view."""
    context = {**view["current"], **view}
    if "roster" in view:
        context["roster"] = roster(view["roster"])
    if "answered" in view:
        context["answered"] = answered(view["answered"])
    return render_to_string("quizzes/_host_stage.html", context)


def screen_status(view: dict) -> str:
    """The big screen's panel (#screen-status): how to join, the question's number and
    timer. Never the question's answer: the board beside it is all a screen shows."""
    context = {**view["current"], "session": view["session"],
               "join_url": settings.ELSA["PUBLIC_URL"].rstrip("/") + "/"}
    return render_to_string("quizzes/_screen_status.html", context)


def roster(data: dict) -> str:
    return render_to_string("quizzes/_roster.html", data)


def answered(data: dict) -> str:
    return render_to_string("quizzes/_answered.html", data)


def host_panels(state: str, data: dict | None) -> str:
    """What changes on the host screen within a state (selectors.host_panels)."""
    if data is None:
        return ""
    return roster(data) if state == "lobby" else answered(data)
