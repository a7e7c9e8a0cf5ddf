"""Reads: what a page or a (re)connecting socket shows, straight from the database. Data
only; quizzes/partials.py renders it."""

from typing import Any, NamedTuple

from django.conf import settings
from django.db.models import Count, Sum

from leaderboard import board

from . import rules
from .models import STANDING_ORDER, Answer, Participant, QuizSession, is_join_code

State = QuizSession.State


class Result(NamedTuple):
    """A player's result when a question closes (in events it travels as a list)."""

    correct: bool | None  # None: no answer
    points: int
    score: int
    rank: int
    streak: int = 0
    typo: bool = False
    given: str = ""  # what the player chose or typed, as they saw it
    number: int = 0  # the chosen choice's place as dealt (its colour and shape); 0: none


def session_by_code(code: str) -> QuizSession | None:
    if not is_join_code(code):
        return None
    return (
        QuizSession.objects.select_related("quiz", "current_round__question")
        .filter(code=code.upper())
        .first()
    )


def participant_in(*, participant_id: int, code: str) -> Participant | None:
    if not is_join_code(code):
        return None
    return (
        Participant.objects.select_related("session__quiz", "session__current_round__question")
        .filter(pk=participant_id, session__code=code.upper(), kicked_at__isnull=True)
        .first()
    )


def round_view(session: QuizSession) -> dict:
    """The current question as the stage shows it. The correct choice only once it closed."""
    round_ = session.current_round
    if round_ is None:
        return {}
    question = round_.question
    choices = rules.in_dealt_order(list(question.choices.all()), round_.choice_order)
    view = {
        "round": round_,
        "question": question,
        "kind": question.kind,
        "choices": choices,
        "words": round_.words,
        "accent": session.quiz.accent,
        "number": round_.index + 1,
        "total": session.quiz.questions.count(),
        "closes_at_ms": int(round_.closes_at.timestamp() * 1000),
        "speech_ms": int(round_.speech_seconds * 1000),
    }
    if session.state != State.QUESTION_OPEN:
        view["correct"] = next((c for c in choices if c.is_correct), None)
        view["right_text"] = next(iter(rules.lines(question.accepted_answers)), "")
    return view


def current_answer(*, participant_id: int, session: QuizSession) -> Answer | None:
    """The participant's answer to the session's current round, if any."""
    if not session.current_round_id:
        return None
    return (
        Answer.objects.select_related("choice")
        .filter(participant_id=participant_id, round_id=session.current_round_id)
        .first()
    )


def player_view(participant: Participant) -> dict:
    """Everything a player's page shows now: the stage, their answer, result, score, rank."""
    session = participant.session
    answer = current_answer(participant_id=participant.pk, session=session)
    rank = board.rank_of(session_id=session.pk, score=participant.score)
    result = None
    if session.state in {State.QUESTION_CLOSED, State.FINISHED}:
        given, number = _given(answer.choice_id, answer.choice.text if answer.choice else answer.text,
                               session.current_round) if answer else ("", 0)
        result = Result(answer.is_correct if answer else None, (answer.points or 0) if answer else 0,
                        participant.score, rank, (answer.streak or 0) if answer else 0, bool(answer and answer.typo),
                        given, number)
    return {"session": session, "current": round_view(session), "answer": answer, "result": result,
            "nickname": participant.nickname, "score": participant.score, "rank": rank}


def roster(session: QuizSession) -> dict:
    """Who is in (newest first, with ids for the host's remove button), and how many."""
    players = session.participants.filter(kicked_at__isnull=True).order_by("-joined_at")
    return {"count": players.count(), "players": list(players.values_list("pk", "nickname")[:100]),
            "session": session}


def answered(session: QuizSession) -> dict:
    return {
        "answered": Answer.objects.filter(round=session.current_round, participant__kicked_at__isnull=True).count(),
        "players": session.participants.filter(kicked_at__isnull=True).count(),
    }


def host_view(session: QuizSession) -> dict:
    """What the host's stage shows in the session's state."""
    view: dict[str, Any] = {"session": session, "current": round_view(session)}
    if session.state == State.LOBBY:
        view["join_url"] = settings.ELSA["PUBLIC_URL"].rstrip("/") + "/"
        view["roster"] = roster(session)
    elif session.state == State.QUESTION_OPEN:
        view["answered"] = answered(session)
    elif session.state == State.QUESTION_CLOSED:
        counts = dict(
            Answer.objects.filter(round=session.current_round).values_list("choice_id").annotate(n=Count("id"))
        )
        total = sum(counts.values()) or 1
        view["distribution"] = [
            (c, counts.get(c.pk, 0), round(100 * counts.get(c.pk, 0) / total)) for c in view["current"]["choices"]
        ]
        if not view["current"]["choices"]:  # typed or put in order: how many got it right
            view["right"] = Answer.objects.filter(round=session.current_round, is_correct=True).count()
            view["answers"] = sum(counts.values())
    elif session.state == State.FINISHED:
        # Places are for points: a player who scored nothing takes no step of the podium.
        view["podium"] = list(session.participants.filter(kicked_at__isnull=True, score__gt=0)
                              .order_by(*STANDING_ORDER)[:3])
    return view


def host_panels(session_id: int) -> tuple[str, dict | None]:
    """The panels that change on the host screen within a state: who joined (lobby), how
    many answered (open question); (state, None) in other states."""
    session = QuizSession.objects.get(pk=session_id)
    if session.state == State.LOBBY:
        return session.state, roster(session)
    if session.state == State.QUESTION_OPEN:
        return session.state, answered(session)
    return session.state, None


def _given(choice_id: int | None, text: str, round_) -> tuple[str, int]:
    """What a player gave, and the place of their choice as the round dealt them (1-based)."""
    if choice_id is None:
        return text, 0
    order = round_.choice_order or list(round_.question.choices.values_list("pk", flat=True))
    return text, order.index(choice_id) + 1 if choice_id in order else 0


def results(session: QuizSession) -> dict[str, Result]:
    """Every participant's result for the current round and their rank, by participant id."""
    answers = {}
    if session.current_round_id:
        round_ = session.current_round
        answers = {
            pid: (correct, points or 0, streak or 0, typo, *_given(choice_id, choice_text or text or "", round_))
            for pid, correct, points, streak, typo, choice_id, choice_text, text
            in Answer.objects.filter(round_id=session.current_round_id).values_list(
                "participant_id", "is_correct", "points", "streak", "typo", "choice_id", "choice__text", "text")
        }
    ordered = list(Participant.objects.filter(session=session, kicked_at__isnull=True).order_by(*STANDING_ORDER)
                   .values_list("pk", "score"))
    ranks = board.competition_ranks([score for _, score in ordered])
    results = {}
    for (pid, score), rank in zip(ordered, ranks):
        correct, points, streak, typo, given, number = answers.get(pid, (None, 0, 0, False, "", 0))
        results[str(pid)] = Result(correct, points, score, rank, streak, typo, given, number)
    return results


def audit(session: QuizSession) -> list[str]:
    """Every way the session's scores disagree: ledger vs totals vs the Redis leaderboard."""
    problems = []
    pending = Answer.objects.filter(round__session=session, scored_at__isnull=True).count()
    if pending:
        problems.append(f"{pending} answers are not scored")
    # Totals count every scored answer when scores are live, else those of closed rounds.
    counted = Answer.objects.filter(round__session=session)
    if not session.scores_live:
        counted = counted.filter(round__closed_at__isnull=False)
    ledger = dict(counted.values_list("participant_id").annotate(total=Sum("points")))
    redis_scores = {pid: s.score for pid, s in board.all_ranks(session_id=session.pk).items()}
    for pid, nickname, score in session.participants.filter(kicked_at__isnull=True).values_list(
            "pk", "nickname", "score"):
        if score != (ledger.get(pid) or 0):
            problems.append(f"{nickname}: total {score} but answers sum to {ledger.get(pid) or 0}")
        if redis_scores.get(pid) != score:
            problems.append(f"{nickname}: database {score} but Redis {redis_scores.get(pid)}")
    extra = set(redis_scores) - set(session.participants.filter(kicked_at__isnull=True).values_list("pk", flat=True))
    if extra:
        problems.append(f"Redis has {len(extra)} unknown players")
    return problems
