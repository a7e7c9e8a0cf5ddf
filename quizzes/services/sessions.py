"""A session's life: created, questions opened and closed, moved on by deadlines, finished."""

import logging
import secrets
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from leaderboard import board
from live.events import publish_on_commit
from monitoring.logs import event as log_event

from .. import events
from ..errors import HostError
from ..models import JOIN_CODE_ALPHABET, JOIN_CODE_LENGTH, Participant, Quiz, QuizSession, Round
from .queue import enqueue
from .scoring import answers_score_pending

log = logging.getLogger(__name__)
State = QuizSession.State


def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def quiz_problems(quiz: Quiz) -> list[str]:
    """Why a quiz cannot be played, or nothing when it can."""
    problems = []
    questions = list(quiz.questions.prefetch_related("choices"))
    if not questions:
        problems.append("The quiz has no questions.")
    for number, question in enumerate(questions, start=1):
        choices = list(question.choices.all())
        if not 2 <= len(choices) <= 6:
            problems.append(f"Question {number} needs 2 to 6 choices.")
        if sum(c.is_correct for c in choices) != 1:
            problems.append(f"Question {number} needs exactly one correct choice.")
    return problems


def session_create(*, quiz: Quiz, host=None, bot_seed: int | None = None) -> QuizSession:
    problems = quiz_problems(quiz)
    if problems:
        raise HostError(" ".join(problems))
    for _ in range(20):
        try:
            with transaction.atomic():
                session = QuizSession.objects.create(
                    quiz=quiz, code=new_join_code(), host=host, bot_seed=bot_seed
                )
        except IntegrityError:
            continue
        board.rebuild(session_id=session.pk, epoch=session.created_at, entries=[])
        log_event(log, "session_created", session=session.code, session_id=session.pk, quiz=quiz.pk)
        return session
    raise HostError("Could not find a free join code; try again.")


def _locked_session(session_id: int) -> QuizSession:
    return QuizSession.objects.select_for_update(of=("self",)).select_related("quiz", "current_round").get(
        pk=session_id
    )


def session_next(*, session_id: int) -> QuizSession:
    """The host's one button: start, close the open question early, or go on."""
    with transaction.atomic():
        session = _locked_session(session_id)
        if session.state == State.LOBBY:
            _open_round(session, index=0)
        elif session.state == State.QUESTION_OPEN:
            _close_round(session)
        elif session.state == State.QUESTION_CLOSED:
            _advance(session)
        else:
            raise HostError("The quiz has finished.")
    return session


def round_close(*, round_id: int) -> bool:
    """Close a round when its timer ends. Does nothing if it is closed already."""
    with transaction.atomic():
        session_id = Round.objects.filter(pk=round_id).values_list("session_id", flat=True).first()
        if session_id is None:
            return False
        session = _locked_session(session_id)
        if session.state != State.QUESTION_OPEN or session.current_round_id != round_id:
            return False
        _close_round(session)
    return True


def session_advance(*, session_id: int, round_id: int) -> bool:
    """Go on after a round's reveal. Does nothing if the session has moved on."""
    with transaction.atomic():
        session = QuizSession.objects.select_for_update().filter(pk=session_id).first()
        if session is None or session.state != State.QUESTION_CLOSED or session.current_round_id != round_id:
            return False
        _advance(session)
    return True


def _advance(session: QuizSession) -> None:
    assert session.current_round is not None  # a closed question is a round
    next_index = session.current_round.index + 1
    if next_index < session.quiz.questions.count():
        _open_round(session, index=next_index)
    else:
        _finish(session)


def _open_round(session: QuizSession, *, index: int) -> None:
    question = session.quiz.questions.all()[index]
    now = timezone.now()
    round_ = Round.objects.create(
        session=session,
        question=question,
        index=index,
        opened_at=now,
        closes_at=now + timedelta(seconds=question.time_limit_seconds),
    )
    session.state = State.QUESTION_OPEN
    session.current_round = round_
    session.advance_at = None
    session.started_at = session.started_at or now
    session.save(update_fields=["state", "current_round", "advance_at", "started_at"])
    has_bots = session.participants.filter(is_bot=True).exists()

    def after_commit():
        log_event(log, "round_opened", session=session.code, round=index + 1, round_id=round_.pk,
                  closes_at=round_.closes_at.isoformat())
        enqueue("quizzes.tasks.close_round", round_.pk, eta=round_.closes_at + close_grace())
        if has_bots:
            enqueue("quizzes.tasks.bots_play_round", round_.pk)

    transaction.on_commit(after_commit)
    publish_on_commit(session.pk, lambda: events.stage_changed(session.pk))


def _close_round(session: QuizSession) -> None:
    # FOR UPDATE on the round waits for every answer being stored for it (each insert
    # holds a key-share lock on its round until it commits), and an insert still waiting
    # for this lock finds the round closed: no answer commits after the close, unscored.
    assert session.current_round_id is not None  # an open question is a round
    round_ = Round.objects.select_for_update().get(pk=session.current_round_id)
    now = timezone.now()
    round_.closed_at = now
    round_.save(update_fields=["closed_at"])
    while answers_score_pending(round_id=round_.pk, wait=True):
        pass
    session.state = State.QUESTION_CLOSED
    session.advance_at = now + timedelta(seconds=settings.ELSA["REVEAL_SECONDS"])
    session.save(update_fields=["state", "advance_at"])

    def after_commit():
        log_event(log, "round_closed", session=session.code, round=round_.index + 1, round_id=round_.pk)
        enqueue("quizzes.tasks.advance_session", session.pk, round_.pk, eta=session.advance_at)
        _resync_board(session)

    transaction.on_commit(after_commit)
    publish_on_commit(session.pk, lambda: events.stage_changed(session.pk))


def _resync_board(session: QuizSession) -> None:
    """Rewrite every player's absolute total to the Redis board when a round closes.

    A worker killed between a scoring commit and its Redis write leaves those players
    behind on the board, and nothing rewrites them later: their answers are no longer
    pending (quizzes/tests/test_faults.py, the killed-worker test). ZADD GT cannot lower
    anyone, so this is safe beside concurrent writers."""
    try:
        board.rebuild(session_id=session.pk, epoch=session.created_at, entries=board_entries(session.pk))
    except redis.RedisError:
        log_event(log, "board_resync_failed", session=session.code, level=logging.WARNING, exc_info=True)


def _finish(session: QuizSession) -> None:
    session.state = State.FINISHED
    session.finished_at = timezone.now()
    session.advance_at = None
    session.save(update_fields=["state", "finished_at", "advance_at"])

    def after_commit():
        log_event(log, "session_finished", session=session.code, rounds=session.rounds.count())

    transaction.on_commit(after_commit)
    publish_on_commit(session.pk, lambda: events.stage_changed(session.pk))


def close_grace() -> timedelta:
    """How long after a question's deadline its timer closes it: an answer the server
    received just before the deadline still has time to be stored."""
    return timedelta(seconds=settings.ELSA["CLOSE_GRACE_SECONDS"])


def sessions_move_on(
    *, session_ids: list[int] | None = None, now: datetime | None = None, grace: timedelta | None = None
) -> dict[str, int]:
    """Close every question whose time is up and open the next question of every session
    whose reveal has ended (of `session_ids`, or of all sessions).

    Decision 10: whoever sees a deadline pass first moves the session on: each web process
    for the sessions it serves, a worker's timer, the sweep, `manage.py simulate`. The
    services lock the session row and check its state, so one of them does it, once, and
    the others find nothing to do."""
    now = now or timezone.now()
    close_before = now - (close_grace() if grace is None else grace)
    advance_before = now - (grace or timedelta(0))
    sessions = QuizSession.objects.all() if session_ids is None else QuizSession.objects.filter(pk__in=session_ids)
    moved = {"closed": 0, "advanced": 0}
    to_close = sessions.filter(state=State.QUESTION_OPEN, current_round__closes_at__lt=close_before)
    for round_id in list(to_close.values_list("current_round_id", flat=True)):
        moved["closed"] += round_close(round_id=round_id)
    # Read after the closes: a caller far behind (a sweep after an outage) may find a
    # reveal over as soon as it has closed the question.
    to_advance = sessions.filter(state=State.QUESTION_CLOSED, advance_at__lt=advance_before)
    for session_id, round_id in list(to_advance.values_list("pk", "current_round_id")):
        moved["advanced"] += session_advance(session_id=session_id, round_id=round_id)
    return moved




def board_entries(session_id: int) -> list:
    """Every participant's total as the board stores it."""
    return list(Participant.objects.filter(session_id=session_id).values_list(
        "id", "nickname", "score", "score_reached_at"))


def leaderboard_rebuild(session_id: int) -> None:
    """Refill a session's Redis board from the database (it is a cache of the totals)."""
    session = QuizSession.objects.get(pk=session_id)
    board.rebuild(session_id=session.pk, epoch=session.created_at, entries=board_entries(session_id))
