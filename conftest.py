"""The suite's fixtures: real PostgreSQL and Redis, a real Celery worker, uvicorn and Chromium
when asked. Helpers the tests call live in tests/support/."""

import os
import weakref

import pytest
import redis

from elsa import processes
from tests.support.servers import RedisServer, Rig, suite_database_url

ROOT = processes.ROOT


@pytest.fixture(autouse=True)
def clean_redis(settings):
    """Leaderboards and events live in their own Redis database, emptied for each test."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield
    client.close()


@pytest.fixture(autouse=True)
def forget_found_boards():
    """Each process remembers the boards it found for a minute; a test starts with none."""
    from quizzes import lookup

    lookup._found.clear()


@pytest.fixture(autouse=True)
def quick_reveal(settings):
    settings.ELSA = {**settings.ELSA, "REVEAL_SECONDS": 1.0, "STANDINGS_SECONDS": 1.0, "SWEEP_PENDING_AFTER": 2.0}


@pytest.fixture
def quiz_session(db):
    """A session of a one-question quiz, in its lobby."""
    from quizzes import services
    from tests.support.quizzes import make_quiz

    return services.session_create(quiz=make_quiz(questions=1))


def _test_env(**extra: str) -> dict:
    return {**os.environ, "DATABASE_URL": suite_database_url(), "PYTHONUNBUFFERED": "1", **extra}


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real `celery worker` (with beat) on the test database, shared by the tests that need one."""
    # Tasks queued by earlier tests name rows that are gone: start from an empty broker
    # (the worker declares its queues again as it starts).
    redis.Redis.from_url(os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/6")).flushdb()
    env = _test_env(REVEAL_SECONDS="1", STANDINGS_SECONDS="1", SWEEP_PENDING_AFTER="2")
    worker = processes.celery_worker("worker", env=env, log_path=ROOT / ".pytest-worker.log",
                                     beat_schedule=ROOT / ".pytest-celerybeat")
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture(scope="session")
def live_server_url(django_db_setup, django_db_blocker):
    """The real ASGI server (uvicorn, as in production) on the test database."""
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    web = processes.web_server("web", port=port, env=_test_env(PUBLIC_URL=url), log_path=ROOT / ".pytest-web.log")
    web.start()
    try:
        yield url
    finally:
        web.stop()


@pytest.fixture
def rig(transactional_db, tmp_path):
    """Private processes for one test (tests/support/servers.py), all stopped when it ends.
    Depends on transactional_db so they stop before the test database is flushed."""
    rig = Rig(tmp_path)
    try:
        yield rig
    finally:
        rig.close()


@pytest.fixture
def here(monkeypatch, settings):
    """Point this test process's Redis and Celery clients at a private Redis and broker."""
    import live.redis as clients
    from elsa.celery import app

    def point(redis: RedisServer, broker_url: str | None = None) -> None:
        settings.REDIS_URL = redis.url(0)
        monkeypatch.setattr(clients, "_sync_client", None)
        monkeypatch.setattr(clients, "_async_clients", weakref.WeakKeyDictionary())
        monkeypatch.setenv("CELERY_BROKER_URL", broker_url or redis.url(1))
        monkeypatch.setattr(app, "_pool", None)
        monkeypatch.setattr(app.amqp, "_producer_pool", None)

    return point


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls
    # are still plain synchronous code (Playwright's documented setting for Django).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def screenshots():
    """Screens a person would see, kept under artifacts/screens/ after the run."""
    folder = ROOT / "artifacts" / "screens"
    folder.mkdir(parents=True, exist_ok=True)

    def shoot(page, name: str) -> None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    return shoot


def pytest_collection_modifyitems(items):
    """Browser tests run after the async ones (Playwright holds an event loop while open);
    tests that start the shared worker run last, so its beat cannot touch earlier tests."""
    items.sort(key=lambda item: (item.get_closest_marker("worker") is not None,
                                 item.get_closest_marker("browser") is not None))
