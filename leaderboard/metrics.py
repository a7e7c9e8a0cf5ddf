"""Prometheus metrics of one web process, served at GET /metrics (text format).

Three kinds of values, chosen so the hot path stays cheap and every number is right:

- Counted in this process as things happen: answers received by its player sockets
  (`elsa_answers_received_total{result}`), frames its hub wrote
  (`elsa_frames_sent_total`, one `inc(len)` per `send_all`, no labels) and how long
  each hub tick took (`elsa_tick_seconds`). Per process: Prometheus scrapes each web
  replica on its own, and `sum()` adds them up.
- Counted at scrape time from this process's hub: open WebSockets by kind. Nothing to
  keep in step on connect and disconnect, so the number cannot drift.
- Read from PostgreSQL at scrape time, so they are the same whichever web process is
  scraped and whichever worker did the scoring: answers scored, answers pending, and
  the scoring lag (age of the oldest pending answer). Use `max()`, not `sum()`, across
  replicas. The pending count and the oldest pending answer come from the partial
  index on pending answers; the scored count reads the answers table.

The registry is this module's own (no metrics from other libraries sneak in), with the
process, platform and GC collectors that prometheus_client offers by default.

/metrics is answered by `MetricsMiddleware`, before Django's host check: Prometheus
scrapes each replica by its address, which is not in ALLOWED_HOSTS. It shows counts
only (no codes, nicknames or secrets); docs/operations.md says how to keep it off the
public load balancer.
"""

import logging

from django.http import HttpResponse, HttpResponseNotAllowed
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from elsa.logs import event

log = logging.getLogger(__name__)

PATH = "/metrics"
SOCKET_KINDS = ("player", "host", "screen", "feed")
# "stored", then AnswerRefused codes, then messages refused before they reach a service.
ANSWER_RESULTS = (
    "stored", "not_open", "late", "duplicate", "bad_choice", "not_player", "invalid", "rate_limited",
)

disable_created_metrics()  # no `_created` series beside each counter and histogram
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

answers_received = Counter(
    "elsa_answers_received",
    "Answer messages received by this process's player sockets, by result: stored, or why not.",
    ["result"],
    registry=REGISTRY,
)
_answer_children = {result: answers_received.labels(result) for result in ANSWER_RESULTS}

frames_sent = Counter(
    "elsa_frames_sent",
    "Frames this process's hub wrote to its sockets (or held for a socket's snapshot).",
    registry=REGISTRY,
)

tick_seconds = Histogram(
    "elsa_tick_seconds",
    "Time of one hub tick of one room: read the board, render it once, write it to local sockets.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)


def answer_received(result: str) -> None:
    """Count one answer message by its result (hot path: a dict lookup and a locked add)."""
    child = _answer_children.get(result)
    if child is None:
        child = _answer_children[result] = answers_received.labels(result)
    child.inc()


def frames_written(count: int) -> None:
    if count:
        frames_sent.inc(count)


class SocketCollector:
    """Open WebSockets of this process, by kind, counted from the hub's rooms at scrape time.

    Runs on the view's thread while the event loop may add or drop sockets: `list()` of
    a dict's values or a set is one C call under the GIL, so it sees a consistent copy."""

    def describe(self):
        yield GaugeMetricFamily("elsa_open_websockets", "")

    def collect(self):
        from .hub import hub

        counts = dict.fromkeys(SOCKET_KINDS, 0)
        for room in list(hub.rooms.values()):
            for client in list(room.clients):
                kind = getattr(client, "kind", "other")
                counts[kind] = counts.get(kind, 0) + 1
        family = GaugeMetricFamily(
            "elsa_open_websockets", "WebSockets open in this process's hub, by kind.", labels=["kind"]
        )
        for kind, count in counts.items():
            family.add_metric([kind], count)
        yield family


class DatabaseCollector:
    """Answer totals from PostgreSQL at scrape time: right across every web and worker process."""

    def describe(self):
        yield GaugeMetricFamily("elsa_database_up", "")
        yield CounterMetricFamily("elsa_answers_scored", "")
        yield GaugeMetricFamily("elsa_answers_pending", "")
        yield GaugeMetricFamily("elsa_scoring_lag_seconds", "")

    def collect(self):
        from django.db.models import Count, Min
        from django.utils import timezone

        from quizzes.models import Answer

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


REGISTRY.register(SocketCollector())
REGISTRY.register(DatabaseCollector())


def exposition() -> bytes:
    return generate_latest(REGISTRY)


class MetricsMiddleware:
    """Answers GET /metrics ahead of every other middleware.

    First in MIDDLEWARE, so before CommonMiddleware's host check: a scraper reaches each
    replica by its address (e.g. 10.0.3.7:8000), which ALLOWED_HOSTS does not list, and
    the exposition does not depend on the Host header. No session, CSRF or auth is used."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != PATH:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        return HttpResponse(exposition(), content_type=CONTENT_TYPE_PLAIN_0_0_4)
