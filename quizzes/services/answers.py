"""A player's answer: stored as pending in one statement, or refused with a reason."""

from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from live.events import publish_on_commit

from ..errors import AnswerRefused
from ..events import Answered
from ..models import Answer, Choice, QuizSession
from .scoring import schedule_scoring

State = QuizSession.State


def answer_submit(
    *,
    participant_id: int,
    session_id: int,
    choice_id: object,
    round_id: object = None,
    received_at: datetime | None = None,
) -> Answer:
    """Store a player's answer as pending; scoring follows in a Celery task.

    `received_at` is the server's own clock when the message arrived; the client never
    says anything about time.
    """
    received_at = received_at or timezone.now()
    choice_id, round_id = _id_or_none(choice_id), _id_or_none(round_id)
    if choice_id is None:
        raise AnswerRefused("That is not one of the choices.", code="bad_choice")
    try:
        with transaction.atomic():
            stored = _insert_answer(participant_id, session_id, choice_id, round_id, received_at)
            if stored is None:
                raise _refusal(participant_id, session_id, choice_id, round_id, received_at)
            answer_id, current_round_id, text = stored
            transaction.on_commit(schedule_scoring)
            publish_on_commit(session_id, Answered())
    except IntegrityError:  # the participant does not exist
        raise AnswerRefused("You are not in this quiz.", code="not_player") from None
    return Answer(pk=answer_id, participant_id=participant_id, round_id=current_round_id,
                  choice=Choice(pk=choice_id, text=text), received_at=received_at)


# The rule for accepting an answer, in one statement: the session's question is open, not
# closed early, not past its deadline at the server's receive time, the choice is one of
# its choices, and the participant has not answered it. Hot path: one round trip. The
# key-share lock on the round (which the foreign key check takes anyway) makes a close
# wait for this insert, or this insert see the close (_close_round).
_INSERT_ANSWER = """
    INSERT INTO quizzes_answer (participant_id, round_id, choice_id, received_at)
    SELECT %s, r.id, c.id, %s
    FROM quizzes_quizsession s
    JOIN quizzes_round r ON r.id = s.current_round_id
    JOIN quizzes_choice c ON c.question_id = r.question_id
    WHERE s.id = %s AND c.id = %s AND s.state = %s AND r.closed_at IS NULL AND r.closes_at >= %s {round}
    FOR KEY SHARE OF r
    ON CONFLICT (participant_id, round_id) DO NOTHING
    RETURNING id, round_id, (SELECT text FROM quizzes_choice WHERE id = choice_id)
"""


def _insert_answer(participant_id, session_id, choice_id, round_id, received_at) -> tuple | None:
    at = connection.ops.adapt_datetimefield_value(received_at)
    params = [participant_id, at, session_id, choice_id, State.QUESTION_OPEN, at]
    sql = _INSERT_ANSWER.format(round="AND r.id = %s" if round_id is not None else "")
    if round_id is not None:
        params.append(round_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _refusal(participant_id, session_id, choice_id, round_id, received_at) -> AnswerRefused:
    """Why an answer was not stored, in words for the player (the rule is the INSERT's)."""
    session = QuizSession.objects.select_related("current_round").filter(pk=session_id).first()
    round_ = session.current_round if session else None
    if session is None or session.state != State.QUESTION_OPEN or round_ is None or round_.closed_at is not None:
        return AnswerRefused("This question is not open for answers.", code="not_open")
    if round_id is not None and round_id != round_.pk:
        return AnswerRefused("This question is not open for answers.", code="not_open")
    if received_at > round_.closes_at:
        return AnswerRefused("Time is up for this question.", code="late")
    if Answer.objects.filter(participant_id=participant_id, round=round_).exists():
        return AnswerRefused("Your answer is already locked in.", code="duplicate")
    if not Choice.objects.filter(pk=choice_id, question_id=round_.question_id).exists():
        return AnswerRefused("That is not one of the choices.", code="bad_choice")
    return AnswerRefused("You are not in this quiz.", code="not_player")


def _id_or_none(raw: object) -> int | None:
    """A database id from a message, or None for anything that cannot be one."""
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if 0 < value < 2**63 else None
