"""Scoring: pending answers scored in batches, exactly once, by the rules of decision 7."""

import logging
import time
from datetime import timedelta
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from leaderboard import board
from live.redis import sync_client
from monitoring.logs import event as log_event

from .. import rules
from ..models import Answer, Participant
from .bulk import update_fields
from .queue import enqueue

log = logging.getLogger(__name__)

SCORING_SCHEDULED = "elsa:scoring:scheduled"


def schedule_scoring() -> None:
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
        enqueue("quizzes.tasks.score_pending")


SCORING_BATCH = 500


def score_all_pending(*, seconds: float = 5.0, gather: float | None = None) -> int:
    """Score batches until nothing is pending (or other workers hold the rest).

    First it waits `gather` seconds (SCORING_GATHER_SECONDS) with the flag still set, so
    the answers of that moment ride along in one batch instead of one task each: at a few
    hundred answers a second a batch's fixed cost (a task, a transaction, a board write and
    a publish) is most of scoring's cost. Bounded in time, well inside the task's time
    limit: a limit striking between a batch's commit and its Redis write would leave the
    leaderboard behind the database. If time runs out with answers left, another run is
    scheduled."""
    time.sleep(settings.ELSA["SCORING_GATHER_SECONDS"] if gather is None else gather)
    try:
        sync_client().delete(SCORING_SCHEDULED)
    except redis.RedisError:
        pass  # the flag expires by itself
    scored, deadline = 0, time.monotonic() + seconds
    while batch := answers_score_pending():
        scored += len(batch)
        if time.monotonic() > deadline:
            log_event(log, "scoring_rescheduled", answers=scored, seconds=seconds)
            schedule_scoring()
            break
    return scored


def answers_score_pending(*, round_id: int | None = None, limit: int = SCORING_BATCH, wait: bool = False) -> set[int]:
    """Score up to `limit` pending answers (of one round, if given) in one transaction.

    Each answer is claimed by a row lock (FOR UPDATE SKIP LOCKED: concurrent workers take
    different answers) and re-checked as pending, so none is scored twice. A round's close
    waits for the rows a worker holds instead of skipping them (`wait`), so when it
    commits every answer of the round is scored and its reveal shows each one. Streaks come
    from which answers were right, which scoring does not change, so the order answers are
    scored in does not matter. In a session whose scores are live, totals are read under
    lock, written back, and sent to Redis after commit as absolute values; otherwise they
    wait for the question's close (sessions._apply_round_points)."""
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
        rows = Answer.objects.filter(participant_id__in=participant_ids).select_related("choice", "round__question")
        for earlier in rows.only("participant_id", "is_correct", "text", "choice__is_correct", "round__index",
                                 *(f"round__question__{name}" for name in rules.JUDGED_BY)):
            right = earlier.is_correct
            if right is None:
                right, _ = rules.judge(earlier.round.question, choice=earlier.choice, text=earlier.text)
            correct_by_round[earlier.participant_id][earlier.round.index] = right
        live = sorted({a.participant_id for a in pending if a.round.session.scores_live})
        participants = {
            p.pk: p
            for p in Participant.objects.select_for_update()
            .filter(pk__in=live)
            .order_by("pk")
            .only("session_id", "nickname", "score", "score_reached_at")
        }
        now = timezone.now()
        for answer in pending:
            round_, question = answer.round, answer.round.question
            correct, typo = rules.judge(question, choice=answer.choice, text=answer.text)
            streak = rules.streak(correct_by_round[answer.participant_id], round_.index) if correct else 0
            points = rules.points_for(
                points=question.points,
                speed_points=question.speed_points,
                elapsed=answer.received_at - round_.opened_at - timedelta(seconds=round_.speech_seconds),
                limit=timedelta(seconds=question.time_limit_seconds),
                streak=streak,
                penalty_percent=question.typo_penalty_percent if typo else 0,
            )
            answer.scored_at, answer.is_correct, answer.typo = now, correct, typo
            answer.points, answer.streak = points, streak
            participant = participants.get(answer.participant_id)
            if points and participant is not None:
                participant.score += points
                reached = participant.score_reached_at
                participant.score_reached_at = max(reached, answer.received_at) if reached else answer.received_at
        update_fields(pending, ["scored_at", "is_correct", "typo", "points", "streak"])
        update_fields(list(participants.values()), ["score", "score_reached_at"])
        sessions = {a.round.session_id: a.round.session for a in pending}
        totals: dict[int, list] = {sid: [] for sid in sessions}
        for p in participants.values():
            totals[p.session_id].append((p.pk, p.nickname, p.score, p.score_reached_at))

        def after_commit():
            try:
                board.record_many([(sid, sessions[sid].created_at, entries) for sid, entries in totals.items()])
            except redis.RedisError:
                # The scores are committed; the boards catch up at the question's close
                # (every total is rewritten then) or when they are rebuilt.
                log_event(log, "board_write_failed", level=logging.WARNING, exc_info=True,
                          **_where(sorted(sessions[sid].code for sid in totals)))

        transaction.on_commit(after_commit)
    log_event(log, "scoring_batch", **_where(sorted({s.code for s in sessions.values()})), answers=len(pending),
              seconds=round(time.monotonic() - started, 4))
    return {a.pk for a in pending}


def _where(codes: list[str]) -> dict[str, Any]:
    """A log line's sessions: `session` for one, else `sessions`, comma-separated."""
    return {"session": codes[0]} if len(codes) == 1 else {"sessions": ",".join(codes)}
