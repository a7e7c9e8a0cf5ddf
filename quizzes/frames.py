"""Server-rendered HTML fragments: the same partials serve the first page, htmx and pushes.

Each fragment's root element has a stable id; htmx's ws extension swaps it in place.
Nothing here puts the correct choice into a fragment before its round has closed.
"""

from django.conf import settings
from django.db.models import Count
from django.template.loader import render_to_string

from leaderboard import board

from .models import STANDING_ORDER, Answer, Participant, QuizSession

State = QuizSession.State


def _round_context(session: QuizSession) -> dict:
    round_ = session.current_round
    if round_ is None:
        return {}
    question = round_.question
    choices = list(question.choices.all())
    context = {
        "round": round_,
        "question": question,
        "choices": choices,
        "number": round_.index + 1,
        "total": session.quiz.questions.count(),
        "closes_at_ms": int(round_.closes_at.timestamp() * 1000),
    }
    if session.state != State.QUESTION_OPEN:
        context["correct"] = next((c for c in choices if c.is_correct), None)
    return context


def player_stage(session: QuizSession, *, answer: Answer | None = None, result_html: str = "") -> str:
    context = {"session": session, "answer": answer, "result_html": result_html, **_round_context(session)}
    return render_to_string("quizzes/_stage.html", context)


def locked_in(answer: Answer) -> str:
    return render_to_string("quizzes/_locked.html", {"answer": answer})


def player_result(*, state: str, result: list | None) -> str:
    """A player's own result: [correct 1/0/None, points, score, rank] or None if unknown."""
    context = {"state": state, "result": result}
    return render_to_string("quizzes/_result.html", context)


def me(*, nickname: str, score: int, rank: int | None) -> str:
    return render_to_string("quizzes/_me.html", {"nickname": nickname, "score": score, "rank": rank})


def flash(message: str) -> str:
    return render_to_string("quizzes/_flash.html", {"message": message})


def host_stage(session: QuizSession) -> str:
    context = {"session": session, **_round_context(session)}
    if session.state == State.LOBBY:
        context["join_url"] = settings.ELSA["PUBLIC_URL"].rstrip("/") + "/"
        context["roster"] = host_roster(session)
    elif session.state == State.QUESTION_OPEN:
        context["answered"] = host_answered(session)
    elif session.state == State.QUESTION_CLOSED:
        counts = dict(
            Answer.objects.filter(round=session.current_round)
            .values_list("choice_id")
            .annotate(n=Count("id"))
        )
        total = sum(counts.values()) or 1
        context["distribution"] = [
            (c, counts.get(c.pk, 0), round(100 * counts.get(c.pk, 0) / total))
            for c in context["choices"]
        ]
    elif session.state == State.FINISHED:
        context["podium"] = list(session.participants.order_by(*STANDING_ORDER)[:3])
    return render_to_string("quizzes/_host_stage.html", context)


def host_roster(session: QuizSession) -> str:
    players = session.participants.order_by("-joined_at")
    context = {"count": players.count(), "players": list(players.values_list("nickname", flat=True)[:100])}
    return render_to_string("quizzes/_roster.html", context)


def host_answered(session: QuizSession) -> str:
    context = {
        "answered": Answer.objects.filter(round_id=session.current_round_id).count(),
        "players": session.participants.count(),
    }
    return render_to_string("quizzes/_answered.html", context)


def leaderboard(standings: board.Board, *, title: str = "Leaderboard") -> str:
    top = standings.standings[: settings.ELSA["LEADERBOARD_SIZE"]]
    return render_to_string(
        "leaderboard/_leaderboard.html", {"board": standings, "standings": top, "title": title}
    )


def rank_badge(rank: int | None) -> str:
    return render_to_string("quizzes/_rank.html", {"rank": rank})


def host_panels(session_id: int) -> str:
    """What changes on the host screen between states: who joined, how many answered."""
    session = QuizSession.objects.get(pk=session_id)
    if session.state == State.LOBBY:
        return host_roster(session)
    if session.state == State.QUESTION_OPEN:
        return host_answered(session)
    return ""


def results(session: QuizSession) -> dict[str, list]:
    """Every participant's result for the current round and their rank, from the database."""
    answers = {}
    if session.current_round_id:
        answers = dict(
            (pid, (correct, points))
            for pid, correct, points in Answer.objects.filter(round_id=session.current_round_id).values_list(
                "participant_id", "is_correct", "points"
            )
        )
    ordered = list(Participant.objects.filter(session=session).order_by(*STANDING_ORDER).values_list("pk", "score"))
    ranks = board.competition_ranks([score for _, score in ordered])
    return {
        str(pid): result_row(*answers.get(pid, (None, 0)), score=score, rank=rank)
        for (pid, score), rank in zip(ordered, ranks)
    }


def result_row(correct: bool | None, points: int | None, *, score: int, rank: int) -> list:
    """A player's result as it travels in events: [correct 1/0/None, points, score, rank]."""
    return [None if correct is None else int(correct), points or 0, score, rank]


def stage_event(session: QuizSession) -> dict:
    """The live event for a session's change of state, rendered once for every viewer."""
    session = QuizSession.objects.select_related("quiz", "current_round__question").get(pk=session.pk)
    event = {
        "t": "stage",
        "state": session.state,
        "player": player_stage(session),
        "host": host_stage(session),
    }
    if session.state in {State.QUESTION_CLOSED, State.FINISHED}:
        event["results"] = results(session)
    return event
