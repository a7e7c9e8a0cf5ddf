"""The quiz's metrics: answer messages by result (counted in this process) and, read from
PostgreSQL at scrape time so every replica reports the same, answers scored, answers
pending and the scoring lag (the age of the oldest pending answer)."""

import logging

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from monitoring.logs import event
from monitoring.metrics import REGISTRY

from .models import Answer

log = logging.getLogger(__name__)

# "stored", then AnswerRefused codes, then messages refused before they reach a service.
ANSWER_RESULTS = (
    "stored", "not_open", "late", "duplicate", "bad_choice", "not_player", "invalid", "rate_limited",
)

answers_received = Counter(
    "elsa_answers_received",
    "Answer messages received by this process's player sockets, by result: stored, or why not.",
    ["result"],
    registry=REGISTRY,
)
_answer_children = {result: answers_received.labels(result) for result in ANSWER_RESULTS}


def answer_received(result: str) -> None:
    """Count one answer message by its result (hot path: a dict lookup and a locked add)."""
    child = _answer_children.get(result)
    if child is None:
        child = _answer_children[result] = answers_received.labels(result)
    child.inc()


class DatabaseCollector:
    """Answer totals from PostgreSQL at scrape time: right across every web and worker process."""

    def describe(self):
        yield GaugeMetricFamily("elsa_database_up", "")
        yield CounterMetricFamily("elsa_answers_scored", "")
        yield GaugeMetricFamily("elsa_answers_pending", "")
        yield GaugeMetricFamily("elsa_scoring_lag_seconds", "")

    def collect(self):
        up = GaugeMetricFamily("elsa_database_up", "1 if this scrape could read the answers from PostgreSQL.")
        try:
            # Both from the partial index on pending answers (scored_at IS NULL).
            pending = Answer.objects.filter(scored_at__isnull=True).aggregate(
                count=Count("pk"), oldest=Min("received_at")
            )
            scored = Answer.objects.filter(scored_at__isnull=False).count()
        except Exception:
            event(log, "metrics_database_failed", level=logging.WARNING, exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        now = timezone.now()
        up.add_metric([], 1)
        yield up
        yield CounterMetricFamily(
            "elsa_answers_scored", "Answers scored, all sessions, from the database.", value=scored
        )
        yield GaugeMetricFamily(
            "elsa_answers_pending", "Answers stored and not yet scored, from the database.", value=pending["count"]
        )
        lag = max(0.0, (now - pending["oldest"]).total_seconds()) if pending["oldest"] else 0.0
        yield GaugeMetricFamily(
            "elsa_scoring_lag_seconds", "Age of the oldest pending answer (0 when none is pending).", value=lag
        )


REGISTRY.register(DatabaseCollector())
