"""Reads: what a page or a (re)connecting socket shows, straight from the database."""

from leaderboard import board

from . import frames
from .models import Answer, Participant, QuizSession, is_join_code

State = QuizSession.State


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
        .filter(pk=participant_id, session__code=code.upper())
        .first()
    )


def player_view(participant: Participant) -> dict[str, str]:
    """Everything a player's page shows now, as fragments: stage, own result, score, rank."""
    session = participant.session
    answer = current_answer(participant_id=participant.pk, session=session)
    rank = board.rank_of(session_id=session.pk, score=participant.score)
    result_html = ""
    if session.state in {State.QUESTION_CLOSED, State.FINISHED}:
        result = frames.result_row(
            answer.is_correct if answer else None, answer.points if answer else 0, score=participant.score, rank=rank
        )
        result_html = frames.player_result(state=session.state, result=result)
    return {
        "stage": frames.player_stage(session, answer=answer, result_html=result_html),
        "me": frames.me(nickname=participant.nickname, score=participant.score, rank=rank),
    }


def host_snapshot(session: QuizSession) -> str:
    return frames.host_stage(session)


def current_answer(*, participant_id: int, session: QuizSession) -> Answer | None:
    """The participant's answer to the session's current round, if any."""
    if not session.current_round_id:
        return None
    return Answer.objects.select_related("choice").filter(participant_id=participant_id, round_id=session.current_round_id).first()


def locked_in_frame(*, participant_id: int, session_id: int) -> str:
    answer = current_answer(participant_id=participant_id, session=QuizSession.objects.get(pk=session_id))
    return frames.locked_in(answer) if answer else ""


def audit(session: QuizSession) -> list[str]:
    """Every way the session's scores disagree: ledger vs totals vs the Redis leaderboard."""
    from django.db.models import Sum

    problems = []
    pending = Answer.objects.filter(round__session=session, scored_at__isnull=True).count()
    if pending:
        problems.append(f"{pending} answers are not scored")
    ledger = dict(
        Answer.objects.filter(round__session=session)
        .values_list("participant_id")
        .annotate(total=Sum("points"))
    )
    redis_scores = {pid: s.score for pid, s in board.all_ranks(session_id=session.pk).items()}
    for pid, nickname, score in session.participants.values_list("pk", "nickname", "score"):
        if score != (ledger.get(pid) or 0):
            problems.append(f"{nickname}: total {score} but answers sum to {ledger.get(pid) or 0}")
        if redis_scores.get(pid) != score:
            problems.append(f"{nickname}: database {score} but Redis {redis_scores.get(pid)}")
    extra = set(redis_scores) - set(session.participants.values_list("pk", flat=True))
    if extra:
        problems.append(f"Redis has {len(extra)} unknown players")
    return problems


def dependencies() -> dict[str, bool]:
    """Whether each service the quiz needs answers right now."""
    from django.db import connection

    from elsa.celery import app
    from leaderboard.redis import sync_client

    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = True
    except Exception:
        checks["database"] = False
    try:
        checks["redis"] = bool(sync_client().ping())
    except Exception:
        checks["redis"] = False
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        checks["broker"] = True
    except Exception:
        checks["broker"] = False
    return checks
