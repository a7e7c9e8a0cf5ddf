"""Every quiz fragment, rendered from data the selectors read: the same partials serve the
first page, the htmx response and the WebSocket push.

Each fragment's root element has a stable id; htmx's ws extension swaps it in place.
Nothing here puts the correct choice into a fragment before its round has closed (the
selectors leave it out of an open round's view).
"""

from django.template.loader import render_to_string

from .models import Answer
from .selectors import Result


def player_stage(view: dict, *, answer: Answer | None = None, result: Result | None = None) -> str:
    """The player's stage; `view` holds the session and its `current` round_view."""
    result_html = player_result(state=view["session"].state, result=result) if result else ""
    context = {**view["current"], "session": view["session"], "answer": answer, "result_html": result_html}
    return render_to_string("quizzes/_stage.html", context)


def player_page(view: dict) -> dict[str, str]:
    """A player's stage and badge, from selectors.player_view."""
    return {
        "stage": player_stage(view, answer=view["answer"], result=view["result"]),
        "me": me(nickname=view["nickname"], score=view["score"], rank=view["rank"]),
    }


def locked_in(answer: Answer) -> str:
    return render_to_string("quizzes/_locked.html", {"answer": answer})


def player_result(*, state: str, result: Result | None) -> str:
    return render_to_string("quizzes/_result.html", {"state": state, "result": result})


def me(*, nickname: str, score: int, rank: int | None) -> str:
    return render_to_string("quizzes/_me.html", {"nickname": nickname, "score": score, "rank": rank})


def my_score(score: int) -> str:
    return render_to_string("quizzes/_my_score.html", {"score": score})


def rank_badge(rank: int | None) -> str:
    return render_to_string("quizzes/_rank.html", {"rank": rank})


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


def roster(data: dict) -> str:
    return render_to_string("quizzes/_roster.html", data)


def answered(data: dict) -> str:
    return render_to_string("quizzes/_answered.html", data)


def host_panels(state: str, data: dict | None) -> str:
    """What changes on the host screen within a state (selectors.host_panels)."""
    if data is None:
        return ""
    return roster(data) if state == "lobby" else answered(data)
