"""Shared test fixtures: real PostgreSQL, real Redis, a real Celery worker when asked."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def clean_redis(settings):
    """Leaderboards and events live in their own Redis database, emptied for each test."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield
    client.close()


@pytest.fixture(autouse=True)
def quick_reveal(settings):
    settings.ELSA = {**settings.ELSA, "REVEAL_SECONDS": 1.0, "SWEEP_PENDING_AFTER": 2.0}


def _test_database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real `celery worker` on the test database, shared by the tests that need one."""
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "REVEAL_SECONDS": "1",
        "SWEEP_PENDING_AFTER": "2",
        "PYTHONUNBUFFERED": "1",
    }
    log = open(ROOT / ".pytest-worker.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "elsa", "worker", "-B", "-l", "info", "-c", "2",
         "--without-gossip", "--without-mingle", "-s", str(ROOT / ".pytest-celerybeat")],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while b"ready." not in (ROOT / ".pytest-worker.log").read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the Celery worker did not start:\n" + (ROOT / ".pytest-worker.log").read_text())
        time.sleep(0.2)
    yield process
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def wait_for(predicate, *, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
