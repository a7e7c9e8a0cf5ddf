"""Every process of a benchmark run, started and stopped through elsa.processes: a private
Redis, the product's web server and Celery worker, the naive baseline, the bare broadcast
server and the load generators, each with its output in a log under the results folder.

Nothing is shared with another run: Redis is private to the run (pub/sub channels are
global to a Redis server, whatever its database number, so two runs on one Redis would
hear each other's events), and the PostgreSQL database is named after the run's own
(see `database_url`).
"""

import os
import secrets
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from elsa import processes
from elsa.processes import ROOT, Process, free_port

from .load import Load

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
# As the old stack ran it: room for a burst of thousands of connects.
WEB_EXTRA = ["--backlog", "4096", "--log-level", "warning"]


def database_url(explicit: str | None, *, suffix: str = "_bench") -> str:
    """The run's database: given, or BENCH_DATABASE_URL, or DATABASE_URL's name + suffix
    (a checkout that tests on "benchdev" benchmarks on "benchdev_bench"), or "elsa" + suffix."""
    if explicit or os.environ.get("BENCH_DATABASE_URL"):
        return explicit or os.environ["BENCH_DATABASE_URL"]
    seed = os.environ.get("DATABASE_URL", "")
    if seed.startswith("postgres"):
        return seed.split("?", 1)[0] + suffix
    return f"{DEFAULT_SERVER}/elsa{suffix}"


def prepare_database(url: str, env: dict) -> None:
    """A fresh database for each run: nothing left from the last one skews it."""
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)


class Stack:
    def __init__(self, database: str, logs: Path, *, generators: int):
        self.database, self.logs = database, logs
        self.redis = processes.redis_server("redis", port=free_port(), log_path=logs / "redis.log",
                                            data_dir=logs / "redis")
        self.env = {
            **os.environ,
            "DATABASE_URL": database,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis.port}/0",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.redis.port}/1",
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "WARNING",
            # Thousands of players join and play from one loopback address.
            "JOINS_PER_MINUTE": "0",
            "WS_SOCKETS_PER_ADDRESS": "0",
            "WS_ADDRESS_MESSAGES_PER_SECOND": "0",
            # `make bench` gives every process one key; a run started by hand makes its own.
            "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
            "REVEAL_SECONDS": "2",
            "SWEEP_PENDING_AFTER": "5",
        }
        self.env.pop("DB_POOL_SIZE", None)  # the servers run with the product's own pool size
        self.web = self.web_server("web-0")
        self.worker = processes.celery_worker("worker", env=self.env, log_path=logs / "worker.log",
                                              beat_schedule=logs / "celerybeat-schedule")
        # The baseline reads the board from Redis per answer; its database use is one
        # lookup per connect, so a small pool leaves PostgreSQL's connections to the rest.
        self.baseline = self.web_server("baseline", asgi="benchmarks.baseline:application", DB_POOL_SIZE="4")
        self.bare = self.web_server("bare", asgi="benchmarks.bare:application", extra=["--lifespan", "off"])
        self.generators = [Load.process(f"load-{n}", env=self.env, log_path=logs / f"load-{n}.log")
                           for n in range(generators)]
        self.started: list[Process] = []

    def web_server(self, name: str, *, asgi: str = "elsa.asgi:application", extra: list[str] | None = None,
                   **env: str) -> Process:
        port = free_port()
        return processes.web_server(name, port=port, env={**self.env, "PUBLIC_URL": f"http://127.0.0.1:{port}", **env},
                                    log_path=self.logs / f"{name}.log", asgi=asgi, extra=WEB_EXTRA + (extra or []))

    @staticmethod
    def url(process: Process) -> str:
        return f"http://127.0.0.1:{process.port}"

    def harness_env(self) -> dict:
        """The harness's own settings: the same services, a pool for its threads."""
        return {**self.env, "DJANGO_SETTINGS_MODULE": "elsa.settings", "DB_POOL_SIZE": "16"}

    def start(self) -> "Stack":
        self.logs.mkdir(parents=True, exist_ok=True)
        prepare_database(self.database, self.env)
        self.start_all([self.redis])
        self.start_all([self.web, self.worker, self.baseline, self.bare, *self.generators])
        return self

    def start_all(self, group: list[Process]) -> None:
        """Start processes side by side (each waits until it is ready); stop them with the rest."""
        self.started += group
        with ThreadPoolExecutor(len(group)) as pool:
            list(pool.map(Process.start, group))

    def stop(self, group: list[Process] | None = None) -> None:
        for process in reversed(group or self.started):
            process.stop()

    def server_errors(self, offset: int) -> list[str]:
        """Error lines the web server logged after `offset` characters of its output."""
        text = self.web.output()[offset:]
        return [line for line in text.splitlines() if "ERROR" in line or "Traceback" in line]
