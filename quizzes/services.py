"""Everything that changes a quiz's state. Views, consumers, tasks and commands call these.

Each service runs in one transaction; live events and tasks leave only after commit.
"""

import logging
import random
import re
import secrets
import unicodedata
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from leaderboard import board
from leaderboard.events import publish

from . import frames, tasks
from .models import (
    JOIN_CODE_ALPHABET,
    JOIN_CODE_LENGTH,
    NICKNAME_MAX_LENGTH,
    Answer,
    Choice,
    Participant,
    Question,
    Quiz,
    QuizSession,
    Round,
)

log = logging.getLogger(__name__)
State = QuizSession.State


class QuizError(Exception):
    """A refusal with a message fit to show the person who asked."""

    code = "refused"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class JoinError(QuizError):
    code = "join"


class AnswerRefused(QuizError):
    code = "answer"


class HostError(QuizError):
    code = "host"


# Letters and digits of any script, spaces and a little punctuation: enough for real
# names ("Nguyễn Thu-Hà", "O'Brien"), never enough for markup or attributes.
NICKNAME_PATTERN = re.compile(r"^[\w .'!?-]+$")


def clean_nickname(raw: object) -> str:
    if not isinstance(raw, str):
        raise JoinError("Choose a nickname.", code="nickname")
    if len(raw) > 200:
        raise JoinError(f"Nicknames are at most {NICKNAME_MAX_LENGTH} characters.", code="nickname")
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} for ch in raw):
        raise JoinError("Nicknames cannot contain control characters.", code="nickname")
    nickname = " ".join(unicodedata.normalize("NFC", raw).split())
    if not nickname:
        raise JoinError("Choose a nickname.", code="nickname")
    if len(nickname) > NICKNAME_MAX_LENGTH:
        raise JoinError(f"Nicknames are at most {NICKNAME_MAX_LENGTH} characters.", code="nickname")
    if not NICKNAME_PATTERN.match(nickname) or "_" == nickname:
        raise JoinError(
            "Use letters, digits, spaces and - . ' ! ? only in a nickname.", code="nickname"
        )
    return nickname


def clean_code(raw: object) -> str:
    if not isinstance(raw, str):
        return ""
    return raw.strip().upper().replace(" ", "")[:JOIN_CODE_LENGTH * 2]


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
        board.rebuild(session_id=session.pk, epoch=session.created_at, participants=Participant.objects.none())
        return session
    raise HostError("Could not find a free join code; try again.")


def participant_join(
    *,
    code: str,
    nickname: str,
    bot_accuracy: float | None = None,
    bot_speed: float | None = None,
) -> Participant:
    code = clean_code(code)
    session = QuizSession.objects.filter(code=code).first()
    if session is None:
        raise JoinError("No quiz has that code. Check the code on the screen.", code="code")
    if session.state == State.FINISHED:
        raise JoinError("That quiz has finished.", code="code")
    nickname = clean_nickname(nickname)
    try:
        with transaction.atomic():
            participant = Participant.objects.create(
                session=session,
                nickname=nickname,
                is_bot=bot_accuracy is not None,
                bot_accuracy=bot_accuracy or 0.0,
                bot_speed=bot_speed or 0.0,
            )
            transaction.on_commit(lambda: _after_join(session, participant))
    except IntegrityError:
        raise JoinError("That nickname is taken in this quiz. Choose another.", code="nickname") from None
    return participant


def _after_join(session: QuizSession, participant: Participant) -> None:
    board.record(
        session_id=session.pk,
        epoch=session.created_at,
        entries=[(participant.pk, participant.nickname, 0, None)],
    )
    publish(session.pk, {"t": "joined"})


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
        _enqueue(tasks.close_round, round_.pk, eta=round_.closes_at)
        if has_bots:
            _enqueue(tasks.bots_play_round, round_.pk)
        publish(session.pk, frames.stage_event(session))

    transaction.on_commit(after_commit)


def _close_round(session: QuizSession) -> None:
    round_ = session.current_round
    now = timezone.now()
    round_.closed_at = now
    round_.save(update_fields=["closed_at"])
    pending = list(
        Answer.objects.filter(round=round_, scored_at__isnull=True).values_list("pk", flat=True)
    )
    for answer_id in pending:
        answer_score(answer_id=answer_id)
    session.state = State.QUESTION_CLOSED
    session.advance_at = now + timedelta(seconds=settings.ELSA["REVEAL_SECONDS"])
    session.save(update_fields=["state", "advance_at"])

    def after_commit():
        _enqueue(tasks.advance_session, session.pk, round_.pk, eta=session.advance_at)
        publish(session.pk, frames.stage_event(session))

    transaction.on_commit(after_commit)


def _finish(session: QuizSession) -> None:
    session.state = State.FINISHED
    session.finished_at = timezone.now()
    session.advance_at = None
    session.save(update_fields=["state", "finished_at", "advance_at"])
    transaction.on_commit(lambda: publish(session.pk, frames.stage_event(session)))


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
    try:
        choice_id = int(choice_id)
        round_id = int(round_id) if round_id not in (None, "") else None
    except (TypeError, ValueError):
        raise AnswerRefused("That is not one of the choices.", code="bad_choice") from None
    session = QuizSession.objects.select_related("current_round").get(pk=session_id)
    round_ = session.current_round
    if session.state != State.QUESTION_OPEN or round_ is None or round_.closed_at is not None:
        raise AnswerRefused("This question is not open for answers.", code="not_open")
    if round_id is not None and round_id != round_.pk:
        raise AnswerRefused("This question is not open for answers.", code="not_open")
    if received_at > round_.closes_at:
        raise AnswerRefused("Time is up for this question.", code="late")
    if not Choice.objects.filter(pk=choice_id, question_id=round_.question_id).exists():
        raise AnswerRefused("That is not one of the choices.", code="bad_choice")
    try:
        with transaction.atomic():
            answer = Answer.objects.create(
                participant_id=participant_id,
                round=round_,
                choice_id=choice_id,
                received_at=received_at,
            )
            transaction.on_commit(lambda: _after_submit(session_id, answer.pk))
    except IntegrityError:
        if Answer.objects.filter(participant_id=participant_id, round=round_).exists():
            raise AnswerRefused("Your answer is already locked in.", code="duplicate") from None
        raise AnswerRefused("You are not in this quiz.", code="not_player") from None
    return answer


def _after_submit(session_id: int, answer_id: int) -> None:
    _enqueue(tasks.score_answer, answer_id)
    publish(session_id, {"t": "answered"})


def _enqueue(task, *args, **options) -> None:
    """Hand a task to the broker after commit. If the broker is down the row is already
    stored, so the sweep (decision 3) will enqueue it again: never fail the caller."""
    try:
        task.apply_async(args, **options)
    except Exception:
        log.warning("enqueue of %s%s failed; the sweep will retry", task.name, args, exc_info=True)


def points_for(
    *, points: int, speed_points: bool, elapsed: timedelta, limit: timedelta, streak: int
) -> int:
    """Kahoot's rule: P for an instant answer down to P/2 at the deadline, plus a streak bonus.

    Integer arithmetic in microseconds with halves rounded up, so the same answer always
    earns the same points on every machine.
    """
    if points == 0 or streak < 1:
        return 0
    if speed_points:
        total = max(int(limit / timedelta(microseconds=1)), 1)
        t = min(max(int(elapsed / timedelta(microseconds=1)), 0), total)
        numerator, denominator = points * (2 * total - t), 2 * total
        base = (2 * numerator + denominator) // (2 * denominator)
    else:
        base = points
    return base + min(100 * (streak - 1), 500)


def _streak_through(answer: Answer) -> int:
    """Consecutive correct answers ending with this one, over the session's rounds in order."""
    if not answer.choice.is_correct:
        return 0
    earlier = dict(
        Answer.objects.filter(
            participant_id=answer.participant_id,
            round__session_id=answer.round.session_id,
            round__index__lt=answer.round.index,
        ).values_list("round__index", "choice__is_correct")
    )
    streak = 1
    for index in range(answer.round.index - 1, -1, -1):
        if not earlier.get(index):
            break
        streak += 1
    return streak


def answer_score(*, answer_id: int) -> bool:
    """Score one answer exactly once. Returns whether this call did the scoring."""
    with transaction.atomic():
        answer = (
            Answer.objects.select_related("round__question", "round__session", "choice")
            .filter(pk=answer_id)
            .first()
        )
        if answer is None or answer.scored_at is not None:
            return False
        question: Question = answer.round.question
        streak = _streak_through(answer)
        points = points_for(
            points=question.points,
            speed_points=question.speed_points,
            elapsed=answer.received_at - answer.round.opened_at,
            limit=timedelta(seconds=question.time_limit_seconds),
            streak=streak,
        )
        claimed = Answer.objects.filter(pk=answer.pk, scored_at__isnull=True).update(
            scored_at=timezone.now(),
            is_correct=answer.choice.is_correct,
            points=points,
            streak=streak,
        )
        if not claimed:
            return False
        if points:
            Participant.objects.filter(pk=answer.participant_id).update(
                score=F("score") + points,
                score_reached_at=Greatest(
                    Coalesce(F("score_reached_at"), Value(answer.received_at)),
                    Value(answer.received_at),
                ),
            )
        participant = Participant.objects.only("nickname", "score", "score_reached_at").get(
            pk=answer.participant_id
        )
        session = answer.round.session

        def after_commit():
            board.record(
                session_id=session.pk,
                epoch=session.created_at,
                entries=[
                    (participant.pk, participant.nickname, participant.score, participant.score_reached_at)
                ],
            )
            publish(session.pk, {"t": "scored", "p": participant.pk, "s": participant.score})

        transaction.on_commit(after_commit)
    return True


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """The outbox sweep: re-enqueue stale pending answers, move sessions whose timers passed.

    A lost task or a killed worker delays a score or a question change; this makes sure
    it still happens.
    """
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.ELSA["SWEEP_PENDING_AFTER"])
    pending = list(
        Answer.objects.filter(scored_at__isnull=True, received_at__lt=stale)
        .order_by("received_at")
        .values_list("pk", flat=True)[:2000]
    )
    for answer_id in pending:
        tasks.score_answer.delay(answer_id)
    grace = now - timedelta(seconds=1)
    to_close = list(
        QuizSession.objects.filter(
            state=State.QUESTION_OPEN, current_round__closes_at__lt=grace
        ).values_list("current_round_id", flat=True)
    )
    for round_id in to_close:
        round_close(round_id=round_id)
    to_advance = list(
        QuizSession.objects.filter(state=State.QUESTION_CLOSED, advance_at__lt=grace).values_list(
            "pk", "current_round_id"
        )
    )
    for session_id, round_id in to_advance:
        session_advance(session_id=session_id, round_id=round_id)
    return {"pending": len(pending), "closed": len(to_close), "advanced": len(to_advance)}


def leaderboard_rebuild(*, session_id: int) -> None:
    session = QuizSession.objects.get(pk=session_id)
    board.rebuild(session_id=session.pk, epoch=session.created_at, participants=session.participants.all())


def bot_plan(*, seed: int | None, nickname: str, index: int, accuracy: float, speed: float) -> tuple[bool, float, bool]:
    """How a simulated player answers round `index`: (answers at all, delay fraction, correct).

    Drawn from (seed, nickname, round) alone, so `simulate --seed` repeats its choices.
    """
    rng = random.Random(f"{seed}:{nickname}:{index}") if seed is not None else random.Random()
    answers = rng.random() < 0.97
    delay_fraction = 0.05 + 0.85 * (1 - speed) * rng.random() + 0.05 * rng.random()
    correct = rng.random() < accuracy
    return answers, min(delay_fraction, 0.95), correct


def bots_plan_round(*, round_id: int) -> list[tuple[int, int, float]]:
    """(participant id, choice id, seconds from now) for each simulated player's answer."""
    round_ = Round.objects.select_related("session", "question").get(pk=round_id)
    choices = list(round_.question.choices.all())
    correct_choice = next(c for c in choices if c.is_correct)
    wrong = [c for c in choices if not c.is_correct]
    remaining = (round_.closes_at - timezone.now()).total_seconds()
    plan = []
    bots = round_.session.participants.filter(is_bot=True).values_list(
        "pk", "nickname", "bot_accuracy", "bot_speed"
    )
    for pk, nickname, accuracy, speed in bots:
        answers, fraction, correct = bot_plan(
            seed=round_.session.bot_seed, nickname=nickname, index=round_.index, accuracy=accuracy, speed=speed
        )
        if not answers:
            continue
        rng = random.Random(f"{round_.session.bot_seed}:{nickname}:{round_.index}:choice")
        choice = correct_choice if correct or not wrong else rng.choice(wrong)
        delay = max(0.0, fraction * round_.question.time_limit_seconds - (round_.question.time_limit_seconds - remaining))
        plan.append((pk, choice.pk, delay))
    return plan
