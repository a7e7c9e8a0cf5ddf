"""Everything that changes a quiz's state. Views, consumers, tasks and commands call these.

Each service runs in one transaction; live events and tasks leave only after commit.
"""

import logging
import random
import re
import secrets
import time
import unicodedata
from datetime import datetime, timedelta

import redis
import regex

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from elsa.logs import event as log_event
from leaderboard import board
from leaderboard.events import publish
from leaderboard.limits import address_key
from leaderboard.redis import sync_client

from . import frames, tasks
from .models import (
    JOIN_CODE_ALPHABET,
    JOIN_CODE_LENGTH,
    NICKNAME_MAX_BYTES,
    NICKNAME_MAX_LENGTH,
    Answer,
    Choice,
    Participant,
    Quiz,
    QuizSession,
    Round,
    is_join_code,
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
# Letters that show nothing (Hangul fillers U+115F, U+1160, U+3164, U+FFA0) are letters
# to \w; Unicode marks them, with zero-width and other invisible characters, as default
# ignorable: "Minh" plus one of them would look exactly like "Minh".
INVISIBLE = regex.compile(r"\p{Default_Ignorable_Code_Point}")


def clean_nickname(raw: object) -> str:
    """The nickname as it will be shown, or a JoinError saying what is wrong with it.

    NFKC folds compatibility forms (fullwidth Ａ, mathematical 𝐀) into the letters they
    show; look-alikes from other scripts (Cyrillic А) are caught per session by the
    confusable skeleton (quizzes/lookalikes.py, participant_join)."""
    if not isinstance(raw, str):
        raise JoinError("Choose a nickname.", code="nickname")
    if len(raw) > 200:
        raise JoinError(f"Nicknames are at most {NICKNAME_MAX_LENGTH} characters.", code="nickname")
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} for ch in raw):
        raise JoinError("Nicknames cannot contain control characters.", code="nickname")
    nickname = " ".join(unicodedata.normalize("NFKC", raw).split())
    if not nickname:
        raise JoinError("Choose a nickname.", code="nickname")
    if INVISIBLE.search(nickname):
        raise JoinError("Nicknames cannot contain invisible characters.", code="nickname")
    if len(nickname) > NICKNAME_MAX_LENGTH:
        raise JoinError(f"Nicknames are at most {NICKNAME_MAX_LENGTH} characters.", code="nickname")
    # Characters beyond the first plane take 4 bytes here and 12 in the JSON feed: a
    # byte cap keeps every leaderboard frame small whatever the script.
    if len(nickname.encode()) > NICKNAME_MAX_BYTES:
        raise JoinError("That nickname is too long. Choose a shorter one.", code="nickname")
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
        log_event(log, "session_created", session=session.code, session_id=session.pk, quiz=quiz.pk)
        return session
    raise HostError("Could not find a free join code; try again.")


def participant_join(
    *,
    code: str,
    nickname: str,
    client: str | None = None,
    bot_accuracy: float | None = None,
    bot_speed: float | None = None,
) -> Participant:
    """A player joins by code and nickname. With `client` (the address a person joins
    from), the join limits apply: code guesses and join attempts per address."""
    code = clean_code(code)
    session = session_for_visitor(code=code, client=client) if client is not None else _session_by_code(code)
    if session is None:
        raise JoinError("No quiz has that code. Check the code on the screen.", code="code")
    if client is not None and not join_attempt_allowed(client=client, session_id=session.pk):
        raise JoinError("Too many join attempts from this network. Wait a minute and try again.", code="throttled")
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
    except IntegrityError:  # the same name in another case, or one that looks the same
        raise JoinError("That nickname, or one that looks the same, is taken in this quiz. Choose another.",
                        code="nickname") from None
    return participant


def _session_by_code(code: str) -> QuizSession | None:
    return QuizSession.objects.filter(code=code).first() if is_join_code(code) else None


def session_for_visitor(*, code: str, client: str) -> QuizSession | None:
    """The session a visitor names by its code (None if there is none), counting unknown
    codes as guesses: JOIN_GUESSES_PER_MINUTE per address (0: no limit).

    The budget is checked before the lookup, so past it a right code is refused too:
    otherwise the refusals themselves would tell right codes from wrong ones."""
    limit = settings.ELSA["JOIN_GUESSES_PER_MINUTE"]
    key = f"elsa:guesses:{address_key(client)}:{int(time.time() // 60)}"
    if limit and _count(key, add=0) >= limit:
        raise JoinError("Too many wrong codes from this network. Wait a minute and try again.", code="throttled")
    session = _session_by_code(clean_code(code))
    if session is None and limit:
        _count(key, add=1)
    return session


def join_attempt_allowed(*, client: str, session_id: int) -> bool:
    """At most JOINS_PER_MINUTE attempts to join one session per client address (0: no limit).

    Generous on purpose: a whole school often shares one address behind its NAT (300
    pupils join within a minute). Counted per session, so attempts at one session never
    use up an address's budget for another, and wrong codes have their own budget."""
    limit = settings.ELSA["JOINS_PER_MINUTE"]
    if not limit:
        return True
    return _count(f"elsa:joins:{address_key(client)}:{session_id}:{int(time.time() // 60)}", add=1) <= limit


def _count(key: str, *, add: int) -> int:
    """A per-minute counter in Redis after adding `add`. If Redis is unreachable it reads 0:
    joins are allowed rather than refused."""
    try:
        pipe = sync_client().pipeline(transaction=False)
        pipe.incrby(key, add)
        pipe.expire(key, 120)
        return pipe.execute()[0]
    except redis.RedisError:
        return 0


def _after_join(session: QuizSession, participant: Participant) -> None:
    try:
        board.record(
            session_id=session.pk,
            epoch=session.created_at,
            entries=[(participant.pk, participant.nickname, 0, None)],
        )
    except redis.RedisError:
        # The join stands (it is committed); the board gains the player at the next
        # scored answer or round close (_resync_board), or when it is rebuilt.
        log_event(log, "board_write_failed", session=session.code, level=logging.WARNING, exc_info=True,
                  participant=participant.pk)
    publish(session.pk, {"t": "joined"})
    log_event(log, "player_joined", session=session.code, participant=participant.pk,
              nickname=participant.nickname, bot=participant.is_bot)


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
        log_event(log, "round_opened", session=session.code, round=index + 1, round_id=round_.pk,
                  closes_at=round_.closes_at.isoformat())
        _enqueue(tasks.close_round, round_.pk, eta=round_.closes_at + close_grace())
        if has_bots:
            _enqueue(tasks.bots_play_round, round_.pk)
        publish(session.pk, frames.stage_event(session))

    transaction.on_commit(after_commit)


def _close_round(session: QuizSession) -> None:
    # FOR UPDATE on the round waits for every answer being stored for it (each insert
    # holds a key-share lock on its round until it commits), and an insert still waiting
    # for this lock finds the round closed: no answer commits after the close, unscored.
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
        _enqueue(tasks.advance_session, session.pk, round_.pk, eta=session.advance_at)
        _resync_board(session)
        publish(session.pk, frames.stage_event(session))

    transaction.on_commit(after_commit)


def _resync_board(session: QuizSession) -> None:
    """Rewrite every player's absolute total to the Redis board when a round closes.

    A worker killed between a scoring commit and its Redis write leaves those players
    behind on the board, and nothing rewrites them later: their answers are no longer
    pending (quizzes/tests/test_faults.py, the killed-worker test). ZADD GT cannot lower
    anyone, so this is safe beside concurrent writers."""
    try:
        board.rebuild(session_id=session.pk, epoch=session.created_at, participants=session.participants.all())
    except redis.RedisError:
        log_event(log, "board_resync_failed", session=session.code, level=logging.WARNING, exc_info=True)


def _finish(session: QuizSession) -> None:
    session.state = State.FINISHED
    session.finished_at = timezone.now()
    session.advance_at = None
    session.save(update_fields=["state", "finished_at", "advance_at"])

    def after_commit():
        log_event(log, "session_finished", session=session.code, rounds=session.current_round.index + 1)
        publish(session.pk, frames.stage_event(session))

    transaction.on_commit(after_commit)


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
            transaction.on_commit(lambda: _after_submit(session_id, answer_id))
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
    if isinstance(raw, bool):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if 0 < value < 2**63 else None


def _after_submit(session_id: int, answer_id: int) -> None:
    _schedule_scoring()
    publish(session_id, {"t": "answered"})


SCORING_SCHEDULED = "elsa:scoring:scheduled"


def _schedule_scoring() -> None:
    """One scoring task per burst, not one per answer.

    The first answer after the scorer last started sets a short-lived flag and enqueues
    `score_pending`; answers arriving before that task starts ride along. The task
    clears the flag before it looks for pending answers, so an answer committed after
    that look schedules a new task. A lost flag or task only delays scoring until the
    flag expires or the sweep runs."""
    try:
        first = sync_client().set(SCORING_SCHEDULED, 1, nx=True, ex=10)
    except redis.RedisError:
        first = True
    if first:
        _enqueue(tasks.score_pending)


def _enqueue(task, *args, **options) -> None:
    """Hand a task to the broker after commit. If the broker is down the row is already
    stored, so the sweep (decision 3) will enqueue it again: never fail the caller."""
    try:
        # One quick retry: a down broker must not hold a player's answer for seconds.
        task.apply_async(args, retry_policy={"max_retries": 1, "interval_start": 0}, **options)
    except Exception:
        log_event(log, "enqueue_failed", level=logging.WARNING, exc_info=True, task=task.name, args=list(args),
                  retry="sweep")


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


SCORING_BATCH = 500


def _streak(earlier: dict[int, bool], index: int) -> int:
    """Consecutive correct answers ending with a correct one at round `index`, given the
    participant's correctness on earlier rounds; a round without an answer breaks it."""
    streak = 1
    for previous in range(index - 1, -1, -1):
        if not earlier.get(previous):
            break
        streak += 1
    return streak


def score_all_pending(*, seconds: float = 5.0) -> int:
    """Score batches until nothing is pending (or other workers hold the rest).

    Bounded in time, well inside the task's time limit: a limit striking between a
    batch's commit and its Redis write would leave the leaderboard behind the database.
    If time runs out with answers left, another run is scheduled."""
    try:
        sync_client().delete(SCORING_SCHEDULED)
    except redis.RedisError:
        pass  # the flag expires by itself
    scored, deadline = 0, time.monotonic() + seconds
    while batch := answers_score_pending():
        scored += len(batch)
        if time.monotonic() > deadline:
            log_event(log, "scoring_rescheduled", answers=scored, seconds=seconds)
            _schedule_scoring()
            break
    return scored


def answers_score_pending(*, round_id: int | None = None, limit: int = SCORING_BATCH, wait: bool = False) -> set[int]:
    """Score up to `limit` pending answers (of one round, if given) in one transaction.

    Each answer is claimed by a row lock (FOR UPDATE SKIP LOCKED: concurrent workers take
    different answers) and re-checked as pending, so none is scored twice. A round's close
    waits for the rows a worker holds instead of skipping them (`wait`), so when it
    commits every answer of the round is scored and its reveal shows each one. Streaks come
    from which choices were right, known without scoring, so the order answers are scored
    in does not matter. Totals are read under lock, written back, and sent to Redis after
    commit as absolute values."""
    started = time.monotonic()
    with transaction.atomic():
        pending_qs = Answer.objects.filter(scored_at__isnull=True)
        if round_id is not None:
            pending_qs = pending_qs.filter(round_id=round_id)
        pending = list(
            pending_qs.select_related("choice", "round__question", "round__session")
            .select_for_update(skip_locked=not wait, of=("self",))
            .order_by("pk")[:limit]
        )
        if not pending:
            return set()
        participant_ids = sorted({a.participant_id for a in pending})
        correct_by_round: dict[int, dict[int, bool]] = {pid: {} for pid in participant_ids}
        rows = Answer.objects.filter(participant_id__in=participant_ids).values_list(
            "participant_id", "round__index", "choice__is_correct"
        )
        for pid, index, correct in rows:
            correct_by_round[pid][index] = correct
        participants = {
            p.pk: p
            for p in Participant.objects.select_for_update()
            .filter(pk__in=participant_ids)
            .order_by("pk")
            .only("session_id", "nickname", "score", "score_reached_at")
        }
        now = timezone.now()
        for answer in pending:
            round_, question = answer.round, answer.round.question
            correct = answer.choice.is_correct
            streak = _streak(correct_by_round[answer.participant_id], round_.index) if correct else 0
            points = points_for(
                points=question.points,
                speed_points=question.speed_points,
                elapsed=answer.received_at - round_.opened_at,
                limit=timedelta(seconds=question.time_limit_seconds),
                streak=streak,
            )
            answer.scored_at, answer.is_correct, answer.points, answer.streak = now, correct, points, streak
            if points:
                participant = participants[answer.participant_id]
                participant.score += points
                reached = participant.score_reached_at
                participant.score_reached_at = max(reached, answer.received_at) if reached else answer.received_at
        Answer.objects.bulk_update(pending, ["scored_at", "is_correct", "points", "streak"])
        Participant.objects.bulk_update(list(participants.values()), ["score", "score_reached_at"])
        sessions = {a.round.session_id: a.round.session for a in pending}
        totals: dict[int, list] = {sid: [] for sid in sessions}
        for p in participants.values():
            totals[p.session_id].append((p.pk, p.nickname, p.score, p.score_reached_at))

        def after_commit():
            for session_id, entries in totals.items():
                version = board.record(session_id=session_id, epoch=sessions[session_id].created_at, entries=entries)
                items = [[pid, score] for pid, _, score, _ in entries]
                publish(session_id, {"t": "scored", "items": items, "v": version})

        transaction.on_commit(after_commit)
    codes = sorted({s.code for s in sessions.values()})
    where = {"session": codes[0]} if len(codes) == 1 else {"sessions": ",".join(codes)}
    log_event(log, "scoring_batch", **where, answers=len(pending), seconds=round(time.monotonic() - started, 4))
    return {a.pk for a in pending}


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """The outbox sweep: score stale pending answers, move sessions whose timers passed.

    A lost task or a killed worker delays a score or a question change; this makes sure
    it still happens. Stale answers get one batch-scoring task, not one task each: under a
    backlog, re-enqueueing every stale answer each sweep flooded the queue with
    duplicates (measured: scoring fell to ~130/s).
    """
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.ELSA["SWEEP_PENDING_AFTER"])
    pending = Answer.objects.filter(scored_at__isnull=True, received_at__lt=stale).count()
    if pending:
        _enqueue(tasks.score_pending)
    moved = sessions_move_on(now=now, grace=timedelta(seconds=1))
    if pending or moved["closed"] or moved["advanced"]:
        log_event(log, "sweep", pending=pending, **moved)
    return {"pending": pending, **moved}


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
