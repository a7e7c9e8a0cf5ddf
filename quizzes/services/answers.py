"""A player's answer: stored as pending in one statement, or refused with a reason.

An answer is a choice (multiple choice, true or false, listening, picture) or text (the
word a player typed, or the words of a sentence in the order they put them). Whether it
is right is the scorer's business (quizzes/services/scoring.py): nothing here tells."""

from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from live.events import publish_on_commit

from ..errors import AnswerRefused
from ..events import Answered
from ..models import Answer, Choice, Participant, Question, QuizSession
from .scoring import schedule_scoring

State = QuizSession.State
Kind = Question.Kind
TEXT_MAX_LENGTH = 200
MAX_WORDS = 40
NOTHING = object()  # a part the message did not carry at all (not even null)


def answer_submit(
    *,
    participant_id: int,
    session_id: int,
    choice_id: object = NOTHING,
    text: object = NOTHING,
    words: object = NOTHING,
    round_id: object = None,
    received_at: datetime | None = None,
) -> Answer:
    """Store a player's answer as pending: a `choice_id`, or typed `text`, or `words` in
    order. Scoring follows in a Celery task, or at the question's close.

    `received_at` is the server's own clock when the message arrived; the client never
    says anything about time.
    """
    received_at = received_at or timezone.now()
    round_id = _id_or_none(round_id)
    given = _given(choice_id, text, words)
    try:
        with transaction.atomic():
            stored = _insert_answer(participant_id, session_id, given, round_id, received_at)
            if stored is None:
                raise _refusal(participant_id, session_id, given, round_id, received_at)
            answer_id, current_round_id, shown = stored
            transaction.on_commit(schedule_scoring)
            publish_on_commit(session_id, Answered())
    except IntegrityError:  # the participant does not exist
        raise AnswerRefused("You are not in this quiz.", code="not_player") from None
    if isinstance(given, int):
        return Answer(pk=answer_id, participant_id=participant_id, round_id=current_round_id,
                      choice=Choice(pk=given, text=shown), received_at=received_at)
    return Answer(pk=answer_id, participant_id=participant_id, round_id=current_round_id, text=shown,
                  received_at=received_at)


def _given(choice_id: object, text: object, words: object) -> int | str:
    """The answer a message carries: a choice id, or clean text. Exactly one of them."""
    if choice_id is not NOTHING:
        choice = _id_or_none(choice_id)
        if choice is None or text is not NOTHING or words is not NOTHING:
            raise AnswerRefused("That is not one of the choices.", code="bad_choice")
        return choice
    if words is not NOTHING:
        if (text is not NOTHING or not isinstance(words, list) or not 1 <= len(words) <= MAX_WORDS
                or not all(isinstance(word, str) and word.strip() for word in words)):
            raise AnswerRefused("Put the words in order, then send them.", code="bad_text")
        text = " ".join(" ".join(word.split()) for word in words)
    if not isinstance(text, str) or not text.strip():
        raise AnswerRefused("Type your answer first.", code="bad_text")
    text = " ".join(text.split())
    if len(text) > TEXT_MAX_LENGTH:
        raise AnswerRefused(f"Answers are at most {TEXT_MAX_LENGTH} characters.", code="bad_text")
    return text


# The rule for accepting an answer, in one statement: the session's question is open, not
# closed early, not past its deadline at the server's receive time, the player is in the
# session and not removed, the answer fits the question (a choice of its own, or text for
# a question answered in words), and the player has not answered it. Hot path: one round
# trip. On PostgreSQL the key-share lock on the round (which the foreign key check takes
# anyway) makes a close wait for this insert, or this insert see the close (sessions.py,
# _close_round); SQLite (the demo) runs one writer at a time.
_INSERT_CHOICE = """
    INSERT INTO quizzes_answer (participant_id, round_id, choice_id, text, typo, received_at)
    SELECT p.id, r.id, c.id, '', false, %s
    FROM quizzes_quizsession s
    JOIN quizzes_round r ON r.id = s.current_round_id
    JOIN quizzes_participant p ON p.id = %s AND p.session_id = s.id AND p.kicked_at IS NULL
    JOIN quizzes_choice c ON c.question_id = r.question_id AND c.id = %s
    WHERE s.id = %s AND s.state = %s AND r.closed_at IS NULL AND r.closes_at >= %s {round}
    {lock}
    ON CONFLICT (participant_id, round_id) DO NOTHING
    RETURNING id, round_id, (SELECT text FROM quizzes_choice WHERE id = choice_id)
"""
_INSERT_TEXT = """
    INSERT INTO quizzes_answer (participant_id, round_id, choice_id, text, typo, received_at)
    SELECT p.id, r.id, NULL, %s, false, %s
    FROM quizzes_quizsession s
    JOIN quizzes_round r ON r.id = s.current_round_id
    JOIN quizzes_participant p ON p.id = %s AND p.session_id = s.id AND p.kicked_at IS NULL
    JOIN quizzes_question q ON q.id = r.question_id AND q.kind IN (%s, %s)
    WHERE s.id = %s AND s.state = %s AND r.closed_at IS NULL AND r.closes_at >= %s {round}
    {lock}
    ON CONFLICT (participant_id, round_id) DO NOTHING
    RETURNING id, round_id, text
"""


def _insert_answer(participant_id, session_id, given: int | str, round_id, received_at) -> tuple | None:
    at = connection.ops.adapt_datetimefield_value(received_at)
    if isinstance(given, int):
        sql, params = _INSERT_CHOICE, [at, participant_id, given]
    else:
        sql, params = _INSERT_TEXT, [given, at, participant_id, Kind.TYPED, Kind.ORDER]
    params += [session_id, State.QUESTION_OPEN, at]
    if round_id is not None:
        params.append(round_id)
    sql = sql.format(round="AND r.id = %s" if round_id is not None else "",
                     lock="FOR KEY SHARE OF r" if connection.vendor == "postgresql" else "")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _refusal(participant_id, session_id, given: int | str, round_id, received_at) -> AnswerRefused:
    """Why an answer was not stored, in words for the player (the rule is the INSERT's)."""
    session = QuizSession.objects.select_related("current_round__question").filter(pk=session_id).first()
    round_ = session.current_round if session else None
    if Participant.objects.filter(pk=participant_id, session_id=session_id, kicked_at__isnull=False).exists():
        return AnswerRefused("The host has removed you from this quiz.", code="kicked")
    if session is None or session.state != State.QUESTION_OPEN or round_ is None or round_.closed_at is not None:
        return AnswerRefused("This question is not open for answers.", code="not_open")
    if round_id is not None and round_id != round_.pk:
        return AnswerRefused("This question is not open for answers.", code="not_open")
    if received_at > round_.closes_at:
        return AnswerRefused("Time is up for this question.", code="late")
    if Answer.objects.filter(participant_id=participant_id, round=round_).exists():
        return AnswerRefused("Your answer is already locked in.", code="duplicate")
    text_kinds = {Kind.TYPED, Kind.ORDER}
    if isinstance(given, int) and (round_.question.kind in text_kinds
                                   or not Choice.objects.filter(pk=given, question_id=round_.question_id).exists()):
        return AnswerRefused("That is not one of the choices.", code="bad_choice")
    if isinstance(given, str) and round_.question.kind not in text_kinds:
        return AnswerRefused("Choose one of the answers.", code="bad_choice")
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
