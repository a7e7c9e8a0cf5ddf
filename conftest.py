"""Shared test fixtures: real PostgreSQL, real Redis, a real Celery worker when asked."""

import os
import subprocess
from contextlib import contextmanager
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
    # Tasks queued by earlier tests name rows that are gone: start from an empty broker
    # (the worker declares its queues again as it starts).
    redis.Redis.from_url(os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/6")).flushdb()
    command = [sys.executable, "-m", "celery", "-A", "elsa", "worker", "-B", "-l", "info", "-c", "2",
               "--without-gossip", "--without-mingle", "-s", str(ROOT / ".pytest-celerybeat")]
    log_path = ROOT / ".pytest-worker.log"
    with running(command, env, log_path, ready=lambda: b"ready." in log_path.read_bytes(), what="the Celery worker") as process:
        yield process


@contextmanager
def running(command: list[str], env: dict, log_path: Path, *, ready, what: str):
    """A child process for the tests, its output in log_path, stopped however the tests end."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while not ready():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{what} did not start:\n" + log_path.read_text())
                time.sleep(0.2)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server_url(django_db_setup, django_db_blocker):
    """The real ASGI server (uvicorn, as in production) on the test database."""
    import urllib.request

    port = free_port()
    env = {**os.environ, "DATABASE_URL": _test_database_url(), "PUBLIC_URL": f"http://127.0.0.1:{port}"}
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "uvicorn", "elsa.asgi:application", "--host", "127.0.0.1", "--port", str(port),
               "--ws", "websockets-sansio", "--ws-max-size", "4096", "--no-access-log"]

    def up() -> bool:
        try:
            return urllib.request.urlopen(url + "/healthz", timeout=1).status == 200
        except OSError:
            return False

    with running(command, env, ROOT / ".pytest-web.log", ready=up, what="the web server"):
        yield url


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


def wait_for(predicate, *, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def pytest_collection_modifyitems(items):
    """Browser tests run after the async ones (Playwright holds an event loop while open);
    tests that start the shared worker run last, so its beat cannot touch earlier tests."""
    items.sort(key=lambda item: (item.get_closest_marker("worker") is not None,
                                 item.get_closest_marker("browser") is not None))
