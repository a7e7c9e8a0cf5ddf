"""Celery tasks: take ids (if any), call one service, safe to run twice. Services enqueue
them by name (quizzes/services/queue.py)."""

from celery import current_app, shared_task
from django.utils import timezone

from . import bots, services
from .models import Round


@shared_task(acks_late=True)
def score_pending() -> int:
    return services.score_all_pending()


@shared_task(acks_late=True)
def close_round(round_id: int) -> bool:
    return services.round_close(round_id=round_id)


@shared_task(acks_late=True)
def advance_session(session_id: int, round_id: int) -> bool:
    return services.session_advance(session_id=session_id, round_id=round_id)


@shared_task
def sweep() -> dict:
    return services.sweep()


@shared_task
def bots_play_round(round_id: int) -> int:
    plan = bots.bots_plan_round(round_id=round_id)
    for participant_id, answer, delay in plan:
        bot_answer.apply_async((participant_id, round_id, answer), countdown=delay)
    return len(plan)


@shared_task
def bot_answer(participant_id: int, round_id: int, answer: dict) -> bool:
    """A simulated player answers through the same service as a person: `answer` is what
    a phone would send (a choice_id, text, or words)."""
    session_id = Round.objects.filter(pk=round_id).values_list("session_id", flat=True).first()
    if session_id is None:
        return False
    try:
        services.answer_submit(
            participant_id=participant_id,
            session_id=session_id,
            round_id=round_id,
            **answer,
            received_at=timezone.now(),
        )
    except services.AnswerRefused:
        return False
    return True


def broker_answers() -> bool:
    """For /readyz: the broker these tasks go through takes a connection."""
    with current_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=2)
    return True
