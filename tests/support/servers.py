"""Private processes that a test may kill, pause and restart, and the rig that owns them.

Every process here is started by the test that uses it, in its own process group, on its
own port: a private redis-server, RabbitMQ node or PostgreSQL cluster, a Celery worker
(with its beat) and uvicorn, all through elsa.processes. A test kills, pauses or restarts
only these, never the machine's shared PostgreSQL or Redis, and everything is stopped
when the test ends, however it ends.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from elsa import processes
from elsa.processes import PYTHON, ROOT, Process, Supervisor, free_port, port_open

from .clients import ws_connect


def suite_database_url() -> str:
    """The test database pytest-django made, as a URL for the processes a test starts."""
    from django.db import connection

    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


# --- Redis ------------------------------------------------------------------------------


class RedisServer(Process):
    def __init__(self, workdir: Path, *, port: int | None = None):
        self.port = port or free_port()
        self.dir = workdir / f"redis-{self.port}"
        self.dir.mkdir(parents=True, exist_ok=True)
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--dir", str(self.dir)]
        super().__init__(f"redis:{self.port}", command, env=dict(os.environ),
                         log_path=workdir / f"redis-{self.port}.log", ready=lambda p: self.ping())

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0):
        import redis

        return redis.Redis.from_url(self.url(db), socket_timeout=5, socket_connect_timeout=1)

    def ping(self) -> bool:
        try:
            with self.client() as c:
                return bool(c.ping())
        except Exception:
            return False


class RabbitServer(Process):
    """A private RabbitMQ node (the production broker) on its own ports and data folder.

    Started from the Debian package's own script as the current user, so a test can kill
    it (SIGKILL to its process group: the Erlang VM and its helpers) and start it again on
    the same ports and data."""

    SCRIPT = "/usr/lib/rabbitmq/bin/rabbitmq-server"

    def __init__(self, workdir: Path):
        self.port, dist_port = free_port(), free_port()
        base = workdir / f"rabbitmq-{self.port}"
        base.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "RABBITMQ_NODENAME": f"elsa-test-{self.port}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(dist_port),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_PID_FILE": str(base / "pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(base / "none"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "none-advanced.config"),
        }
        super().__init__(f"rabbitmq:{self.port}", [self.SCRIPT], env=env,
                         log_path=workdir / f"rabbitmq-{self.port}.log",
                         ready=lambda p: "completed with" in p.output() and port_open(self.port),
                         start_timeout=90.0)

    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"


# --- PostgreSQL -------------------------------------------------------------------------


def _pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not found:
        raise RuntimeError(f"no PostgreSQL {name} under /usr/lib/postgresql")
    return str(found[-1])


class PostgresCluster:
    """A throwaway PostgreSQL cluster on its own port, owned by whoever runs the tests.

    pg_ctl runs the postmaster in the background, so it is stopped with pg_ctl (and, as a
    last resort, SIGKILL to the postmaster whose pid the cluster itself recorded)."""

    def __init__(self, workdir: Path, *, port: int | None = None):
        import pwd

        self.port = port or free_port()
        self.data = workdir / "pgdata"
        self.log_path = workdir / "postgres.log"
        self._as = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
        if self._as:
            postgres = pwd.getpwnam("postgres")
            os.chown(workdir, postgres.pw_uid, postgres.pw_gid)

    def _run(self, *command: str, timeout: float = 60) -> None:
        result = subprocess.run([*self._as, *command], capture_output=True, text=True, timeout=timeout)
        if result.returncode:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}\n"
                               + (self.log_path.read_text() if self.log_path.exists() else ""))

    def init(self) -> "PostgresCluster":
        self._run(_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--no-sync", "-E", "UTF8", "--locale=C")
        return self

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log_path), "-o", options, "-w",
                  "-t", "30", "start")
        self._pid = self.postmaster_pid()

    def stop(self, mode: str = "fast") -> None:
        pid = self.postmaster_pid()
        if pid is None:
            return
        self.resume()  # a stopped postmaster cannot shut down
        try:
            self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "20", "stop")
        except Exception:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def postmaster_pid(self) -> int | None:
        """The postmaster this cluster started, while it runs."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            pid = getattr(self, "_pid", None)
        if pid is None:
            return None
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        return pid if str(self.data).encode() in command else None

    def processes(self) -> list[int]:
        """The postmaster and every process it started."""
        root = self.postmaster_pid()
        if root is None:
            return []
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == root:
                children.append(int(stat.parent.name))
        return [root, *children]

    def pause(self) -> None:
        """Freeze the server: connections stay open, nothing answers."""
        for pid in self.processes():
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        for pid in reversed(self.processes()):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    def url(self, db: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')


# --- The project's own processes ----------------------------------------------------------


def service_env(*, database_url: str, redis_url: str, broker_url: str, **extra: str) -> dict:
    """Settings for a private web or worker process: short timers, private services."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "elsa.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": broker_url,
        "REVEAL_SECONDS": "1",
        "STANDINGS_SECONDS": "1",
        "SWEEP_PENDING_AFTER": "1",
        "SWEEP_INTERVAL": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(extra)
    return env


def celery_worker(workdir: Path, env: dict, *, name: str = "worker") -> Process:
    return processes.celery_worker(name, env=env, log_path=workdir / f"{name}.log",
                                   beat_schedule=workdir / f"{name}-beat")


def web_server(workdir: Path, env: dict, *, port: int | None = None, name: str = "web") -> Process:
    port = port or free_port()
    return processes.web_server(name, port=port, env={**env, "PUBLIC_URL": f"http://127.0.0.1:{port}"},
                                log_path=workdir / f"{name}.log")


MARK = "@@FAULTS-RESULT@@"


def django_call(env: dict, code: str, *, timeout: float = 60) -> object:
    """Run Python in a fresh Django process with `env` (e.g. a private database); `code`
    sets `result`, which comes back through JSON."""
    script = "import json, django\ndjango.setup()\n" + code + f"\nprint({MARK!r} + json.dumps(result, default=str))\n"
    done = subprocess.run([PYTHON, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    if done.returncode or not lines:
        raise RuntimeError(f"django_call failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    return json.loads(lines[-1][len(MARK):])


def migrate(env: dict) -> None:
    done = subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    if done.returncode:
        raise RuntimeError(f"migrate failed:\n{done.stdout}\n{done.stderr}")


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


class Rig:
    """The private processes of one test, all stopped when the test ends."""

    def __init__(self, logdir: Path):
        self.logdir = logdir
        self.items: list = []

    def redis(self) -> RedisServer:
        server = RedisServer(self.logdir)
        self.items.append(server)
        return server.start()

    def postgres(self) -> PostgresCluster:
        # A short path: the cluster's Unix socket lives in its data directory.
        short = Path(tempfile.mkdtemp(prefix="elsa-pg-"))
        cluster = PostgresCluster(short)
        self.items.append(lambda: remove_tree(short))  # after the cluster stops (items stop in reverse)
        self.items.append(cluster)
        cluster.init()
        cluster.start()
        return cluster

    def env(self, redis: RedisServer, *, database_url: str | None = None, broker_url: str | None = None,
            **extra) -> dict:
        return service_env(database_url=database_url or suite_database_url(), redis_url=redis.url(0),
                                  broker_url=broker_url or redis.url(1), **extra)

    def rabbit(self) -> RabbitServer:
        server = RabbitServer(self.logdir)
        self.items.append(server)
        return server.start()

    def private_redis(self, here, **extra: str) -> tuple[RedisServer, dict]:
        """A private Redis (board, events and broker) for this test process (`here`) and the
        servers it starts, and the environment those servers run with."""
        redis = self.redis()
        here(redis)
        return redis, self.env(redis, **extra)

    def supervisor(self) -> Supervisor:
        """Restarts what it runs when it exits, as `make demo` and compose do."""
        supervisor = Supervisor(say=lambda message: print(f"supervisor: {message}"))
        self.items.append(supervisor.stop_all)
        return supervisor

    def worker(self, env: dict, name: str = "worker") -> Process:
        process = celery_worker(self.logdir, env, name=name)
        self.items.append(process)
        return process.start()

    def web(self, env: dict, name: str = "web", port: int | None = None) -> Process:
        process = web_server(self.logdir, env, name=name, port=port)
        self.items.append(process)
        return process.start()

    def socket(self, port: int, path: str, *, cookie: str | None = None):
        """A WebSocket client, closed when the test ends."""
        ws = ws_connect(port, path, cookie=cookie)
        self.items.append(ws.close)
        return ws

    def close(self) -> None:
        # Web and workers first (they hold database connections), the services last.
        for item in reversed(self.items):
            try:
                item() if callable(item) else item.stop()
            except Exception as error:  # keep stopping the others
                print(f"stopping {item!r} failed: {error}")
        for item in self.items:
            if isinstance(item, Process):
                print(f"----- {item.name} ({item.log_path}) -----\n{item.tail(40)}")
