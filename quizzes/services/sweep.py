"""The outbox sweep (decision 3), run by celery beat every SWEEP_INTERVAL."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from monitoring.logs import event as log_event

from ..models import Answer
from .queue import enqueue
from .sessions import sessions_move_on

log = logging.getLogger(__name__)


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """The outbox sweep: score stale pending answers, move sessions whose timers passed.

    A lost task or a killed worker delays a score or a question change; this makes sure
    it still happens. It keeps to the clocks: closing a question early because everyone
    connected has answered belongs to the web processes that serve the room (they know who
    is connected); a sweep doing it too took a worker from scoring while 200 sessions
    closed at once (docs/performance.md). Stale answers get one batch-scoring task, not
    one task each: under a backlog, re-enqueueing every stale answer each sweep flooded
    the queue with duplicates (measured: scoring fell to ~130/s).
    """
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.ELSA["SWEEP_PENDING_AFTER"])
    pending = Answer.objects.filter(scored_at__isnull=True, received_at__lt=stale).count()
    if pending:
        enqueue("quizzes.tasks.score_pending")
    moved = sessions_move_on(now=now, grace=timedelta(seconds=1), early=False)
    if pending or moved["closed"] or moved["advanced"]:
        log_event(log, "sweep", pending=pending, closed=moved["closed"], advanced=moved["advanced"])
    return {"pending": pending, **moved}
