"""Tasks leave a service here, by name, after its commit."""

import logging

from celery import current_app

from monitoring.logs import event as log_event

log = logging.getLogger(__name__)


def enqueue(task: str, *args, **options) -> None:
    """Hand the task named `task` (e.g. "quizzes.tasks.score_pending") to the broker.

    By name, so services need not import the tasks that call them. If the broker is down
    the state it acts on is already stored, so the sweep (decision 3) or a web process
    (decision 10) does the work: never fail the caller."""
    try:
        # One quick retry: a down broker must not hold a player's answer for seconds.
        current_app.signature(task).apply_async(args, retry_policy={"max_retries": 1, "interval_start": 0},
                                                **options)
    except Exception:
        log_event(log, "enqueue_failed", level=logging.WARNING, exc_info=True, task=task, args=list(args),
                  retry="sweep")
