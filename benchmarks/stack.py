"""The real stack for a benchmark run: uvicorn web processes and a Celery worker on
loopback, against PostgreSQL and Redis, each process's output kept in a log."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("BENCH_RESULTS", ROOT / "benchmarks" / "results"))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_env(database_url: str, redis_url: str, broker_url: str, **extra: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": broker_url,
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
        # Thousands of players join and play from one loopback address.
        "JOINS_PER_MINUTE": "0",
        "WS_SOCKETS_PER_ADDRESS": "0",
        "WS_ADDRESS_MESSAGES_PER_SECOND": "0",
        **extra,
    }


def prepare_database(database_url: str) -> None:
    """A fresh database for each run: nothing left from the last one skews it."""
    import psycopg

    base, name = database_url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = bench_env(database_url, "redis://127.0.0.1:6379/13", "redis://127.0.0.1:6379/14")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)


class Stack:
    def __init__(self, env: dict, *, web_processes: int = 1, worker_concurrency: int = 2,
                 asgi: str = "elsa.asgi:application"):
        self.web_ports = [free_port() for _ in range(web_processes)]
        # Clients open sockets with each process's own origin; sockets check scheme, host and port.
        self.env = {**env, "CSRF_TRUSTED_ORIGINS": ",".join(f"http://127.0.0.1:{port}" for port in self.web_ports)}
        self.worker_concurrency = worker_concurrency
        self.asgi = asgi
        self.processes: list[tuple[str, subprocess.Popen]] = []

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.web_ports]

    def _start(self, name: str, args: list[str]) -> None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        log = open(RESULTS / f"{name}.log", "wb")
        process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.processes.append((name, process))

    def start(self, *, worker: bool = True) -> "Stack":
        for n, port in enumerate(self.web_ports):
            self._start(f"web-{n}-{port}", [
                sys.executable, "-m", "uvicorn", self.asgi, "--host", "127.0.0.1", "--port", str(port),
                "--ws", "websockets-sansio", "--ws-max-size", "4096", "--no-access-log", "--backlog", "4096",
                "--log-level", "warning",
            ])
        if worker:
            self._start("worker", [
                sys.executable, "-m", "celery", "-A", "elsa", "worker", "-B", "-l", "warning",
                "-c", str(self.worker_concurrency), "--without-gossip", "--without-mingle",
                "-s", str(RESULTS / "celerybeat-schedule"),
            ])
        deadline = time.monotonic() + 60
        for url in self.urls:
            while True:
                try:
                    if urllib.request.urlopen(url + "/healthz", timeout=1).status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} did not come up; see {RESULTS}")
                time.sleep(0.2)
        if worker:
            time.sleep(2)  # the worker connects to the broker
        return self

    def stop(self) -> None:
        for _, process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _, process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def server_errors(self) -> list[str]:
        """Error lines the web servers logged (a connect burst must leave none)."""
        lines = []
        for name, _ in self.processes:
            if name.startswith("web"):
                text = (RESULTS / f"{name}.log").read_text(errors="replace")
                lines += [line for line in text.splitlines() if "ERROR" in line or "Traceback" in line]
        return lines


@contextmanager
def running(env: dict, **options):
    stack = Stack(env, **options)
    try:
        yield stack.start(worker=options.get("worker_concurrency", 2) > 0)
    finally:
        stack.stop()
