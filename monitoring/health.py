"""Liveness and readiness: GET /healthz (the process answers) and GET /readyz (what it
depends on answers too).

Each part registers the checks of what it depends on (`register` in its AppConfig.ready):
the database here, Redis in `live`, the Celery broker in `quizzes`. A check returns True
or False and may raise; a raise counts as down.
"""

from typing import Callable

from django.db import connection
from django.http import HttpResponse
from django.views.decorators.http import require_GET

_checks: dict[str, Callable[[], bool]] = {}


def register(name: str, check: Callable[[], bool]) -> None:
    _checks[name] = check


def database_answers() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return True


def run_checks() -> dict[str, bool]:
    results = {}
    for name, check in _checks.items():
        try:
            results[name] = bool(check())
        except Exception:
            results[name] = False
    return results


@require_GET
def healthz(request):
    """Alive: the process answers. Dependencies are /readyz's business."""
    return HttpResponse("ok", content_type="text/plain")


@require_GET
def readyz(request):
    """Ready: every registered dependency answers (200), or which do not (503)."""
    checks = run_checks()
    body = "\n".join(f"{name}: {'ok' if ok else 'down'}" for name, ok in checks.items())
    return HttpResponse(body, content_type="text/plain", status=200 if all(checks.values()) else 503)
