"""A session's life: created, questions opened and closed, the leaderboard between them,
moved on by the host or by deadlines, finished.

    lobby -> open -> closed (the answer shown) -> standings (the leaderboard) -> open -> ...
                                 the last question: closed -> finished (the podium)

The host's one button moves each step. With auto_advance, the reveal and the leaderboard
also move on by themselves (advance_at). A question closes at its deadline, or as soon as
every player connected to it has answered."""

import logging
import random
import secrets
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from leaderboard import board
from live import presence
from live.events import publish_on_commit
from monitoring.logs import event as log_event

from .. import events, rules
from ..errors import HostError
from ..models import JOIN_CODE_ALPHABET, JOIN_CODE_LENGTH, Answer, Participant, Question, Quiz, QuizSession, Round
from .bulk import update_fields
from .questions import question_problems
from .queue import enqueue
from .scoring import answers_score_pending

log = logging.getLogger(__name__)
State = QuizSession.State
Kind = Question.Kind


def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def quiz_problems(quiz: Quiz) -> list[str]:
    """Why a quiz cannot be played, or nothing when it can."""
    problems = []
    questions = list(quiz.questions.prefetch_related("choices"))
    if not questions:
        problems.append("The quiz has no questions.")
    for number, question in enumerate(questions, start=1):
        problems += [f"Question {number}: {problem}" for problem in question_problems(question)]
    return problems


def session_create(
    *, quiz: Quiz, host=None, bot_seed: int | None = None, scores_live: bool = True, auto_advance: bool = True,
    shuffle_choices: bool = False,
) -> QuizSession:
    """A new session in its lobby. By default it runs like a game show (scores live, the
    quiz moves on by itself); a classroom host starts with both off (quizzes.views)."""
    problems = quiz_problems(quiz)
    if problems:
        raise HostError(" ".join(problems))
    for _ in range(20):
        try:
            with transaction.atomic():
                session = QuizSession.objects.create(
                    quiz=quiz, code=new_join_code(), host=host, bot_seed=bot_seed, scores_live=scores_live,
                    auto_advance=auto_advance, shuffle_choices=shuffle_choices,
                )
        except IntegrityError:
            continue
        board.rebuild(session_id=session.pk, epoch=session.created_at, entries=[])
        log_event(log, "session_created", session=session.code, session_id=session.pk, quiz=quiz.pk)
        return session
    raise HostError("Could not find a free join code; try again.")


def session_configure(
    *, session_id: int, scores_live: bool | None = None, auto_advance: bool | None = None,
    shuffle_choices: bool | None = None, locked: bool | None = None,
) -> QuizSession:
    """The host's choices. How scores are shown and whether choices are shuffled are set
    before the start; auto-advance and the lobby's lock may change at any time."""
    with transaction.atomic():
        session = _locked_session(session_id)
        if session.state == State.FINISHED:
            raise HostError("The quiz has finished.")
        if (scores_live is not None or shuffle_choices is not None) and session.state != State.LOBBY:
            raise HostError("Choose how scores are shown, and shuffling, before the quiz starts.")
        changes = {"scores_live": scores_live, "auto_advance": auto_advance, "shuffle_choices": shuffle_choices,
                   "locked": locked}
        fields = [name for name, value in changes.items() if value is not None]
        for name in fields:
            setattr(session, name, changes[name])
        if auto_advance is not None and session.state in {State.QUESTION_CLOSED, State.STANDINGS}:
            session.advance_at = _next_advance(session, timezone.now())
            fields.append("advance_at")
        session.save(update_fields=fields)
        publish_on_commit(session.pk, lambda: events.stage_changed(session.pk))
    return session


def _locked_session(session_id: int) -> QuizSession:
    return QuizSession.objects.select_for_update(of=("self",)).select_related("quiz", "current_round").get(
        pk=session_id
    )


def session_next(*, session_id: int) -> QuizSession:
    """The host's one button: start, close the open question early, show the leaderboard,
    go on to the next question."""
    with transaction.atomic():
        session = _locked_session(session_id)
        if session.state == State.LOBBY:
            _open_round(session, index=0)
        elif session.state == State.QUESTION_OPEN:
            _close_round(session)
        elif session.state in {State.QUESTION_CLOSED, State.STANDINGS}:
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


def session_advance(*, session_id: int, round_id: int, state: str | None = None) -> bool:
    """Take the next step after a reveal or a leaderboard when its time is up. Does nothing
    if the session has moved on (another step, or another caller)."""
    with transaction.atomic():
        session = QuizSession.objects.select_for_update(of=("self",)).select_related("current_round").filter(
            pk=session_id).first()
        if (session is None or session.state not in {State.QUESTION_CLOSED, State.STANDINGS}
                or session.current_round_id != round_id or (state is not None and session.state != state)):
            return False
        _advance(session)
    return True


def _advance(session: QuizSession) -> None:
    assert session.current_round is not None  # a closed question is a round
    next_index = session.current_round.index + 1
    if next_index >= session.quiz.questions.count():
        _finish(session)
    elif session.state == State.QUESTION_CLOSED:
        _show_standings(session)
    else:
        _open_round(session, index=next_index)


def _next_advance(session: QuizSession, now: datetime) -> datetime | None:
    if not session.auto_advance:
        return None
    seconds = settings.ELSA["REVEAL_SECONDS" if session.state == State.QUESTION_CLOSED else "STANDINGS_SECONDS"]
    return now + timedelta(seconds=seconds)


def _open_round(session: QuizSession, *, index: int) -> None:
    question = session.quiz.questions.all()[index]
    now = timezone.now()
    speech = rules.speech_seconds(question.prompt) if question.kind == Kind.LISTEN else 0.0
    seed = f"{session.code if session.bot_seed is None else session.bot_seed}:{index}"
    choice_ids = rules.dealt_choice_order(list(question.choices.values_list("pk", flat=True)), kind=question.kind,
                                          shuffle=session.shuffle_choices, seed=seed)
    words: list[str] = []
    rng = random.Random(f"{seed}:words")
    if question.kind == Kind.ORDER:
        words = rules.sentence_words(rules.lines(question.accepted_answers)[0])
        right = list(words)
        while words == right:  # never dealt already in order
            rng.shuffle(words)
    round_ = Round.objects.create(
        session=session,
        question=question,
        index=index,
        opened_at=now,
        speech_seconds=speech,
        closes_at=now + timedelta(seconds=speech + question.time_limit_seconds),
        choice_order=choice_ids,
        words=words,
    )
    session.state = State.QUESTION_OPEN
    session.current_round = round_
    session.advance_at = None
    session.started_at = session.started_at or now
    session.save(update_fields=["state", "current_round", "advance_at", "started_at"])
    has_bots = session.participants.filter(is_bot=True, kicked_at__isnull=True).exists()

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
    if not session.scores_live:
        _apply_round_points(round_)
    session.state = State.QUESTION_CLOSED
    session.advance_at = _next_advance(session, now)
    session.save(update_fields=["state", "advance_at"])

    def after_commit():
        log_event(log, "round_closed", session=session.code, round=round_.index + 1, round_id=round_.pk)
        if session.advance_at is not None:
            enqueue("quizzes.tasks.advance_session", session.pk, round_.pk, eta=session.advance_at)
        _resync_board(session)

    transaction.on_commit(after_commit)
    publish_on_commit(session.pk, lambda: events.stage_changed(session.pk))


def _apply_round_points(round_: Round) -> None:
    """Scores shown at the reveal: a closed round's points join the totals, all at once.

    Runs inside the close, which happens once per round (the session row is locked and
    its state checked), and after every answer of the round is scored: exactly once."""
    earned = {pid: (points or 0, at) for pid, points, at in Answer.objects.filter(round=round_, points__gt=0)
              .values_list("participant_id", "points", "received_at")}
    participants = list(Participant.objects.select_for_update().filter(pk__in=earned).order_by("pk"))
    for participant in participants:
        points, at = earned[participant.pk]
        participant.score += points
        reached = participant.score_reached_at
        participant.score_reached_at = max(reached, at) if reached else at
    update_fields(participants, ["score", "score_reached_at"])


def _show_standings(session: QuizSession) -> None:
    session.state = State.STANDINGS
    session.advance_at = _next_advance(session, timezone.now())
    session.save(update_fields=["state", "advance_at"])
    round_id = session.current_round_id

    def after_commit():
        if session.advance_at is not None:
            enqueue("quizzes.tasks.advance_session", session.pk, round_id, eta=session.advance_at)

    transaction.on_commit(after_commit)
    publish_on_commit(session.pk, lambda: events.stage_changed(session.pk))


def _resync_board(session: QuizSession) -> None:
    """Rewrite every player's absolute total to the Redis board when a round closes.

    A worker killed between a scoring commit and its Redis write leaves those players
    behind on the board, and nothing rewrites them later: their answers are no longer
    pending (quizzes/tests/test_faults.py, the killed-worker test). ZADD LT cannot lower
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
    *, session_ids: list[int] | None = None, now: datetime | None = None, grace: timedelta | None = None,
    early: bool = True,
) -> dict[str, int]:
    """Close every question whose time is up, or (`early`) that every connected player has
    answered, and take the next step of every session whose reveal or leaderboard time is
    over (of `session_ids`, or of all sessions).

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
    rounds = set(to_close.values_list("current_round_id", flat=True))
    if early:
        rounds |= _all_present_answered(sessions)
    for round_id in rounds:
        moved["closed"] += round_close(round_id=round_id)
    # Read after the closes: a caller far behind (a sweep after an outage) may find a
    # reveal over as soon as it has closed the question.
    to_advance = sessions.filter(state__in=[State.QUESTION_CLOSED, State.STANDINGS], advance_at__lt=advance_before)
    for session_id, round_id, state in list(to_advance.values_list("pk", "current_round_id", "state")):
        moved["advanced"] += session_advance(session_id=session_id, round_id=round_id, state=state)
    return moved


def _all_present_answered(sessions) -> set[int]:
    """The open rounds that every player connected right now has answered (presence comes
    from the web processes, live/presence.py): they close without waiting for the clock.
    Counts first, and the presence of every room with answers in one read, so a round
    with fewer answers than connected players costs no more."""
    answered_by_round = {
        round_id: (session_id, answered)
        for round_id, session_id, answered in sessions.filter(state=State.QUESTION_OPEN)
        .annotate(answered=Count("current_round__answers")).values_list("current_round_id", "pk", "answered")
        if answered
    }
    present = presence.present_in([session_id for session_id, _ in answered_by_round.values()])
    done = set()
    for round_id, (session_id, count) in answered_by_round.items():
        here = present[session_id]
        if not here or count < len(here):
            continue
        answered = set(Answer.objects.filter(round_id=round_id, participant_id__in=here)
                       .values_list("participant_id", flat=True))
        if answered >= here:
            done.add(round_id)
    return done


def participant_kick(*, session_id: int, participant_id: int) -> Participant:
    """The host removes a player: off every board at once, their sockets closed, refused
    at every door from now on; their nickname stays taken in this session."""
    with transaction.atomic():
        session = _locked_session(session_id)
        participant = Participant.objects.select_for_update().filter(pk=participant_id, session=session).first()
        if participant is None:
            raise HostError("That player is not in this quiz.")
        if participant.kicked_at is None:
            participant.kicked_at = timezone.now()
            participant.save(update_fields=["kicked_at"])

            def after_commit():
                log_event(log, "player_kicked", session=session.code, participant=participant.pk)
                try:
                    board.remove(session_id=session.pk, participant_id=participant.pk, nickname=participant.nickname)
                except redis.RedisError:
                    log_event(log, "board_write_failed", session=session.code, level=logging.WARNING, exc_info=True)

            transaction.on_commit(after_commit)
            publish_on_commit(session.pk, events.Kicked(participant_id=participant.pk))
    return participant


def board_entries(session_id: int) -> list:
    """Every player's total as the board stores it (removed players are off the board)."""
    return list(Participant.objects.filter(session_id=session_id, kicked_at__isnull=True).values_list(
        "id", "nickname", "score", "score_reached_at"))


def leaderboard_rebuild(session_id: int) -> None:
    """Refill a session's Redis board from the database (it is a cache of the totals)."""
    session = QuizSession.objects.get(pk=session_id)
    board.rebuild(session_id=session.pk, epoch=session.created_at, entries=board_entries(session_id))
