"""Machinery for the fault tests: private processes that a test may kill, pause and restart.

Every process here is started by the test that uses it, in its own process group, on its
own port: a private redis-server, a private PostgreSQL cluster, a Celery worker (with its
beat) and uvicorn. A test kills, pauses or restarts only these, never the machine's shared
PostgreSQL or Redis, and everything is stopped when the test ends, however it ends.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Process:
    """A child process in its own process group, its output appended to one log file."""

    def __init__(self, name: str, command: list[str], *, env: dict, log_path: Path,
                 ready: Callable[["Process"], bool], start_timeout: float = 40.0):
        self.name, self.command, self.env, self.log_path = name, command, env, log_path
        self.ready, self.start_timeout = ready, start_timeout
        self.popen: subprocess.Popen | None = None
        self._log = None
        self._offset = 0

    def start(self) -> "Process":
        assert not self.running(), f"{self.name} is already running"
        self._log = open(self.log_path, "ab")
        self._offset = self._log.tell()
        self._log.write(f"\n===== {time.strftime('%H:%M:%S')} start {self.name}: {' '.join(self.command)}\n".encode())
        self._log.flush()
        self.popen = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=self._log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while not self.ready(self):
            if self.popen.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not start:\n{self.tail()}")
            time.sleep(0.1)
        return self

    def output(self) -> str:
        """What this process wrote since its latest start."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._offset)
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 80) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal_group(self, sig: int) -> None:
        """Signal this process and every process it started (its own process group)."""
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """A crash: SIGKILL to the whole group, no chance to clean up."""
        self.signal_group(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(timeout=10)
        self._close_log()

    def stop(self, grace: float = 8.0) -> None:
        """A normal stop (SIGTERM), then SIGKILL for whatever is left of the group."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        self.signal_group(signal.SIGKILL)
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


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
        "SWEEP_PENDING_AFTER": "1",
        "SWEEP_INTERVAL": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(extra)
    return env


def celery_worker(workdir: Path, env: dict, *, name: str = "worker") -> Process:
    command = [PYTHON, "-m", "celery", "-A", "elsa", "worker", "-l", "info", "-c", "2", "-B",
               "-s", str(workdir / f"{name}-beat"), "--without-gossip", "--without-mingle",
               "-n", f"{name}-{os.getpid()}-{free_port()}@%h"]
    return Process(name, command, env=env, log_path=workdir / f"{name}.log",
                   ready=lambda p: "ready." in p.output())


def web_server(workdir: Path, env: dict, *, port: int | None = None, name: str = "web") -> Process:
    port = port or free_port()
    command = [PYTHON, "-m", "uvicorn", "elsa.asgi:application", "--host", "127.0.0.1", "--port", str(port),
               "--ws", "websockets-sansio", "--ws-max-size", "4096", "--no-access-log"]

    def up(process: Process) -> bool:
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).status == 200
        except OSError:
            return False

    process = Process(name, command, env={**env, "PUBLIC_URL": f"http://127.0.0.1:{port}"},
                      log_path=workdir / f"{name}.log", ready=up)
    process.port = port
    return process


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


# --- Clients ------------------------------------------------------------------------------

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Browser:
    """A cookie jar and plain urllib: what a phone's browser does over HTTP."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(self, method: str, path: str, data: dict | None = None, headers: dict | None = None,
                timeout: float = 15) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def csrf_token(self, path: str = "/") -> str:
        status, html = self.request("GET", path)
        assert status == 200, (status, html[:500])
        match = CSRF_INPUT.search(html)
        assert match, html[:2000]
        return match.group(1)

    def join(self, code: str, nickname: str) -> str:
        """POST /join like the home page's form; returns the /play page it lands on."""
        token = self.csrf_token("/")
        status, html = self.request("POST", "/join", {"code": code, "nickname": nickname,
                                                      "csrfmiddlewaretoken": token})
        assert status == 200 and 'id="stage"' in html, (status, html[:2000])
        return html

    def login(self, username: str, password: str) -> None:
        token = self.csrf_token("/admin/login/")
        status, html = self.request("POST", "/admin/login/?next=/admin/", {
            "username": username, "password": password, "csrfmiddlewaretoken": token, "next": "/admin/"})
        assert status == 200 and "Log out" in html, (status, html[:2000])

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def ws_connect(port: int, path: str, *, cookie: str | None = None, timeout: float = 10):
    """A WebSocket from outside, as a browser or a JSON client opens it (with an Origin)."""
    from websockets.sync.client import connect

    return connect(f"ws://127.0.0.1:{port}{path}", origin=f"http://127.0.0.1:{port}",
                   additional_headers={"Cookie": cookie} if cookie else None,
                   open_timeout=timeout, close_timeout=2, max_size=2**22, legacy=True)


def recv_until(ws, wanted, *, timeout: float = 15.0, what: str = "a frame") -> str:
    """Frames until one contains `wanted` (a string) or satisfies it (a callable)."""
    test = (lambda frame: wanted in frame) if isinstance(wanted, str) else wanted
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last frames: "
                                 + repr([f[:300] for f in seen[-5:]]))
        try:
            frame = ws.recv(timeout=left)
        except TimeoutError:
            continue
        seen.append(frame)
        if test(frame):
            return frame


def drain(ws, seconds: float = 0.2) -> list[str]:
    frames = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            frames.append(ws.recv(timeout=left))
        except TimeoutError:
            break
    return frames


STAGE_BUTTON = re.compile(r"hx-vals='\{\"choice\": \"(\d+)\", \"round\": \"(\d+)\"\}'>"
                          r"<span class=\"shape\" aria-hidden=\"true\"></span>([^<]*)</button>")


def stage_choices(frame: str) -> list[tuple[int, int, str]]:
    """(choice id, round id, text) of each button on an open question's player stage."""
    return [(int(c), int(r), text) for c, r, text in STAGE_BUTTON.findall(frame)]


def answer_message(choice_id: int, round_id: int) -> str:
    """What htmx's ws-send sends when a choice is tapped."""
    return json.dumps({"choice": str(choice_id), "round": str(round_id), "HEADERS": {"HX-Request": "true"}})


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


FLASH = re.compile(r'<div id="flash"[^>]*>([^<]*)</div>')


def flash_text(frame: str) -> str:
    """The message in a frame's #flash, or "" (a locked-in reply clears the flash)."""
    match = FLASH.search(frame)
    return match.group(1).strip() if match else ""
