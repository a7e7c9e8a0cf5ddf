"""A player's answer: stored as pending in one statement, or refused with a reason.

An answer is a choice (multiple choice, true or false, listening, picture) or text (the
word a player typed, or the words of a sentence in the order they put them). Whether it
is right is the scorer's business (quizzes/services/scoring.py): nothing here tells."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from live.events import publish_many_on_commit

from ..errors import AnswerRefused
from ..events import Answered
from ..models import Answer, Choice, Participant, Question, QuizSession
from .bulk import rows_source
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
    asked = {"participant_id": participant_id, "session_id": session_id, "round_id": round_id,
             "received_at": received_at, "choice_id": choice_id, "text": text, "words": words}
    result = answers_submit([asked])[0]
    if isinstance(result, AnswerRefused):
        raise result
    return result


def answers_submit(asked: list[dict]) -> list[Answer | AnswerRefused]:
    """Many answers (each the keyword arguments of `answer_submit`) in one statement and
    one commit: a web process gathers the answers that arrive together (live/batches.py).
    One result per answer, in order: the answer stored, or why it was refused, exactly as
    `answer_submit` would have said for each in turn."""
    results: list[Answer | AnswerRefused] = []
    layers: list[list[_Row]] = []  # a player's second answer in one batch goes after the first
    seen: Counter[int] = Counter()
    for index, one in enumerate(asked):
        try:
            given = _given(one.get("choice_id", NOTHING), one.get("text", NOTHING), one.get("words", NOTHING))
        except AnswerRefused as refused:
            results.append(refused)
            continue
        results.append(NOT_YET)
        row = _Row(index, one["participant_id"], one["session_id"], given, _id_or_none(one.get("round_id")),
                   one.get("received_at") or timezone.now())
        if seen[row.participant_id] == len(layers):
            layers.append([])
        layers[seen[row.participant_id]].append(row)
        seen[row.participant_id] += 1
    if not layers:
        return results
    try:
        with transaction.atomic():
            answered = set()
            for layer in layers:
                stored = _insert_answers(layer)
                for row in layer:
                    if row.participant_id in stored:
                        results[row.index] = _answer(row, *stored[row.participant_id])
                        answered.add(row.session_id)
                    else:
                        results[row.index] = _refusal(row)
            if answered:
                transaction.on_commit(schedule_scoring)
            publish_many_on_commit([(session_id, Answered()) for session_id in sorted(answered)])
    except IntegrityError:  # a player who no longer exists
        if len(asked) == 1:
            return [AnswerRefused("You are not in this quiz.", code="not_player")]
        return [answers_submit([one])[0] for one in asked]  # each alone: a bad one refuses only itself
    except OperationalError:
        # A deadlock with another process's batch (one player's answers from two tabs on
        # two web processes, met in another order): each alone cannot deadlock. A database
        # that is away fails the first one again, and the error goes to every caller.
        if len(asked) == 1:
            raise
        return [answers_submit([one])[0] for one in asked]
    return results


NOT_YET = AnswerRefused("Not checked.", code="not_checked")  # a placeholder, always replaced


@dataclass(frozen=True)
class _Row:
    index: int
    participant_id: int
    session_id: int
    given: int | str  # a choice id, or text
    round_id: int | None
    received_at: datetime


def _answer(row: _Row, answer_id: int, round_id: int, shown: str) -> Answer:
    if isinstance(row.given, int):
        return Answer(pk=answer_id, participant_id=row.participant_id, round_id=round_id,
                      choice=Choice(pk=row.given, text=shown), received_at=row.received_at)
    return Answer(pk=answer_id, participant_id=row.participant_id, round_id=round_id, text=shown,
                  received_at=row.received_at)


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


# The rule for accepting an answer, in one statement for many: the session's question is
# open, not closed early, not past its deadline at the server's receive time, the player is
# in the session and not removed, the answer fits the question (a choice of its own, or
# text for a question answered in words), and the player has not answered it. Hot path:
# one round trip for a whole batch. On PostgreSQL the key-share lock on the round (which
# the foreign key check takes anyway) makes a close wait for this insert, or this insert
# see the close (sessions.py, _close_round); SQLite (the demo) runs one writer at a time.
_TYPES = ["bigint", "bigint", "bigint", "text", "bigint", "timestamp with time zone"]
_INSERT = """
    INSERT INTO quizzes_answer (participant_id, round_id, choice_id, text, typo, received_at)
    SELECT p.id, r.id, c.id, v.column4, false, v.column6
    FROM {source}
    JOIN quizzes_quizsession s ON s.id = v.column2
    JOIN quizzes_round r ON r.id = s.current_round_id
    JOIN quizzes_participant p ON p.id = v.column1 AND p.session_id = s.id AND p.kicked_at IS NULL
    JOIN quizzes_question q ON q.id = r.question_id
    LEFT JOIN quizzes_choice c ON c.question_id = r.question_id AND c.id = v.column3
    WHERE s.state = %s AND r.closed_at IS NULL AND r.closes_at >= v.column6
      AND (v.column5 IS NULL OR r.id = v.column5)
      AND (c.id IS NOT NULL OR (v.column3 IS NULL AND q.kind IN (%s, %s)))
    {lock}
    ON CONFLICT (participant_id, round_id) DO NOTHING
    RETURNING participant_id, id, round_id, COALESCE((SELECT text FROM quizzes_choice WHERE id = choice_id), text)
"""


def _insert_answers(rows: list[_Row]) -> dict[int, tuple[int, int, str]]:
    """Store what passes the rule (each player once at most): {player: (answer, round, shown)}."""
    values = []
    for row in rows:
        choice, text = (row.given, "") if isinstance(row.given, int) else (None, row.given)
        values.append([row.participant_id, row.session_id, choice, text, row.round_id,
                       connection.ops.adapt_datetimefield_value(row.received_at)])
    source, params = rows_source(_TYPES, values)
    params += [State.QUESTION_OPEN, Kind.TYPED, Kind.ORDER]
    sql = _INSERT.format(source=source, lock="FOR KEY SHARE OF r" if connection.vendor == "postgresql" else "")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {participant: (answer_id, round_id, shown) for participant, answer_id, round_id, shown in cursor}


def _refusal(row: _Row) -> AnswerRefused:
    """Why an answer was not stored, in words for the player (the rule is the INSERT's)."""
    participant_id, session_id, given, round_id, received_at = (
        row.participant_id, row.session_id, row.given, row.round_id, row.received_at)
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
