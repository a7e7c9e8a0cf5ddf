"""Prometheus metrics of one process, served at GET /metrics (text format).

This module holds the registry and the endpoint; each part of the project registers the
metrics it owns: the transport (`live.metrics`: frames, ticks, open sockets) and the quiz
(`quizzes.metrics`: answers received, scored, pending, the scoring lag). Values are per
process: Prometheus scrapes each web replica on its own, and `sum()` adds them up; values
read from PostgreSQL at scrape time are the same on every replica (use `max()`).

The registry is this module's own (no metrics from other libraries sneak in), with the
process, platform and GC collectors that prometheus_client offers by default.

/metrics is answered by `MetricsMiddleware`, before Django's host check: Prometheus
scrapes each replica by its address, which is not in ALLOWED_HOSTS. It shows counts
only (no codes, nicknames or secrets); docs/operations.md says how to keep it off the
public load balancer.
"""

from django.http import HttpResponse, HttpResponseNotAllowed
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

PATH = "/metrics"

disable_created_metrics()  # no `_created` series beside each counter and histogram
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)


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
