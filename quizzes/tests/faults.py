"""Machinery for the fault tests: private processes that a test may kill, pause and restart.

Every process here is started by the test that uses it, in its own process group, on its
own port: a private redis-server, a private PostgreSQL cluster, a Celery worker (with its
beat) and uvicorn. A test kills, pauses or restarts only these, never the machine's shared
PostgreSQL or Redis, and everything is stopped when the test ends, however it ends.
"""

from __future__ import annotations

import base64
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from elsa import processes
from elsa.processes import PYTHON, ROOT, Process, free_port, port_open


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
        super().__init__(f"rabbitmq:{self.port}", [self.SCRIPT], env=env, log_path=workdir / f"rabbitmq-{self.port}.log",
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


# --- Raw WebSockets: clients that misbehave at the TCP level ---------------------------------


def raw_ws_open(port: int, path: str, *, cookie: str | None = None, rcvbuf: int | None = None,
                timeout: float = 10) -> socket.socket:
    """A WebSocket opened by hand on a plain socket: the handshake is read, nothing more.

    With `rcvbuf`, the kernel's receive buffer is set small before connecting, as on a
    phone that stops reading: the server's writes back up once it is full."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    headers = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket", "Connection: Upgrade",
               f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13", f"Origin: http://127.0.0.1:{port}"]
    if cookie:
        headers.append(f"Cookie: {cookie}")
    sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = sock.recv(1)  # byte by byte: not one byte of the first frame is read
        if not chunk:
            raise ConnectionError(f"closed during the handshake: {response!r}")
        response += chunk
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


def raw_ws_send_text(sock, text: str) -> None:
    """One masked text frame, as a client must send it."""
    payload = text.encode()
    mask = os.urandom(4)
    header = bytes([0x81])
    if len(payload) < 126:
        header += bytes([0x80 | len(payload)])
    else:
        header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
    sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def raw_ws_reset(sock) -> None:
    """Close with a TCP reset (SO_LINGER 0): the server's next write to it fails."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def raw_ws_read_until_close(sock, *, timeout: float = 30) -> int | None:
    """Read frames until the server's close frame; its close code (None if the socket ends
    without one)."""
    sock.settimeout(timeout)
    buffer = b""

    def take(n: int) -> bytes:
        nonlocal buffer
        while len(buffer) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError
            buffer += chunk
        out, buffer = buffer[:n], buffer[n:]
        return out

    try:
        while True:
            first, second = take(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", take(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", take(8))[0]
            payload = take(length)
            if first & 0x0F == 0x8:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
    except (EOFError, ConnectionError):
        return None


def metric(port: int, name: str, **labels: str) -> float:
    """One sample from a web process's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    wanted = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{wanted} not in /metrics")


def signed_player_cookie(code: str, participant_id: int) -> str:
    """The cookie a browser holds after joining: made here as the server signs it (the test
    process and the servers it starts share settings), so hundreds of players need no form."""
    from django.contrib.sessions.backends.signed_cookies import SessionStore

    from quizzes.identity import remember_participant

    store = SessionStore()
    remember_participant(store, code, participant_id)
    store.save()
    return f"sessionid={store.session_key}"
