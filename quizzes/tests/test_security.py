"""Nobody gets in where they don't belong, and no one client can hurt the others (issue 8).

Each test here failed on the code before the fix it names; docs/security.md lists them.
"""

import os
import subprocess
import sys

import pytest
import yaml
from django.contrib.auth.models import Permission, User
from django.test import Client

from elsa import demo, processes
from elsa.processes import ROOT
from quizzes import services
from quizzes.models import QuizSession
from tests.support import clients, servers
from tests.support.communicators import logged_in
from tests.support.deploy import COMPOSE_PATH, as_argv
from tests.support.quizzes import make_host, make_quiz
from tests.support.servers import suite_database_url

# The key the repository used to fall back on: public, so nobody may run with it.
DEVELOPMENT_KEY = "dev-only-insecure-key-set-SECRET_KEY-in-production"

# --- 3. SECRET_KEY ------------------------------------------------------------------------


def settings_import(**env: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh process with `env` (and no SECRET_KEY or DEBUG of ours)."""
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    return subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT,
                          env={**base, "DJANGO_SETTINGS_MODULE": "elsa.settings", **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("key", [None, "", DEVELOPMENT_KEY], ids=["unset", "empty", "development"])
def test_without_debug_the_settings_refuse_a_missing_or_development_secret_key(key):
    done = settings_import(**({} if key is None else {"SECRET_KEY": key}))
    assert done.returncode != 0
    assert "SECRET_KEY must be set to a secret random value" in done.stderr


def test_a_real_key_starts_and_debug_alone_may_use_the_development_key():
    assert settings_import(SECRET_KEY="x" * 50).returncode == 0
    assert settings_import(DEBUG="1").returncode == 0


def test_the_demo_makes_its_own_key_once_and_keeps_it_private(tmp_path):
    first = demo.kept_secret_key(tmp_path)
    assert len(first) >= 50 and first != DEVELOPMENT_KEY
    assert demo.kept_secret_key(tmp_path) == first  # kept: cookies survive a restart
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    other = tmp_path / "other"
    other.mkdir()
    assert demo.kept_secret_key(other) != first  # random, not a constant


# --- 1. X-Forwarded-For -------------------------------------------------------------------


def compose_web_command(port: int) -> list[str]:
    """compose's web command as a test can run it: its flags, loopback and a free port."""
    argv = as_argv(yaml.safe_load(COMPOSE_PATH.read_text())["services"]["web"]["command"])
    assert argv[0] == "uvicorn"
    argv[argv.index("--host") + 1], argv[argv.index("--port") + 1] = "127.0.0.1", str(port)
    return [sys.executable, "-m", *argv]


def guesses_from_forged_addresses(tmp_path, command: list[str]) -> list[int]:
    """Four wrong codes, each claiming another client address in X-Forwarded-For."""
    port = int(command[command.index("--port") + 1])
    env = servers.service_env(database_url=suite_database_url(), redis_url=os.environ["REDIS_URL"],
                             broker_url=os.environ["CELERY_BROKER_URL"], JOIN_GUESSES_PER_MINUTE="3")
    web = processes.Process("web", command, env=env, log_path=tmp_path / "web.log",
                         ready=lambda p: processes.port_open(port))
    web.start()
    try:
        browser = clients.Browser(f"http://127.0.0.1:{port}")
        token = browser.csrf_token("/")
        return [browser.request("POST", "/join", {"code": "ZZZZZ9", "nickname": "Ann", "csrfmiddlewaretoken": token},
                                headers={"X-Forwarded-For": f"198.51.100.{n}"})[0] for n in range(1, 5)]
    finally:
        web.stop()


@pytest.mark.django_db(transaction=True)
def test_a_forged_x_forwarded_for_from_anyone_but_the_lb_is_ignored(tmp_path):
    # compose's own uvicorn flags: the test connects from 127.0.0.1, which is not the lb,
    # so every guess counts against 127.0.0.1 whatever address the header names.
    assert guesses_from_forged_addresses(tmp_path, compose_web_command(processes.free_port())) == [400, 400, 400, 429]


@pytest.mark.django_db(transaction=True)
def test_the_lbs_x_forwarded_for_is_trusted(tmp_path):
    # The control: were 127.0.0.1 the lb, each named address would have its own budget.
    command = compose_web_command(processes.free_port())
    command[command.index("--forwarded-allow-ips") + 1] = "127.0.0.1"
    assert guesses_from_forged_addresses(tmp_path, command) == [400, 400, 400, 400]


# --- 2. Join limits -----------------------------------------------------------------------


def join(code: str, nickname: str, address: str) -> int:

    return Client().post("/join", {"code": code, "nickname": nickname}, REMOTE_ADDR=address).status_code


def test_a_school_of_300_behind_one_address_all_join_within_a_minute(quiz_session):
    statuses = [join(quiz_session.code, f"Pupil {n}", "203.0.113.10") for n in range(300)]
    assert statuses == [302] * 300
    assert quiz_session.participants.count() == 300


def test_wrong_codes_have_a_tight_budget_per_address_and_no_oracle(quiz_session):
    guesses = [join(f"ZZZZ{n:02d}", "Eve", "203.0.113.66") for n in range(20)]
    assert guesses == [400] * 20
    # Past the budget a right code is refused as well, or the refusal would tell them apart.

    refused = Client().post("/join", {"code": quiz_session.code, "nickname": "Eve"}, REMOTE_ADDR="203.0.113.66")
    assert refused.status_code == 429 and "Too many wrong codes" in refused.content.decode()
    # Nobody else's budget: another address joins at once.
    assert join(quiz_session.code, "Ann", "198.51.100.20") == 302
    assert list(quiz_session.participants.values_list("nickname", flat=True)) == ["Ann"]


def test_wrong_codes_and_other_sessions_do_not_use_up_a_sessions_join_budget(quiz_session, settings):
    settings.ELSA = {**settings.ELSA, "JOINS_PER_MINUTE": 5}
    other = services.session_create(quiz=make_quiz(questions=1))
    assert [join(f"ZZZZ{n:02d}", "x", "203.0.113.7") for n in range(10)] == [400] * 10
    assert [join(other.code, f"o{n}", "203.0.113.7") for n in range(6)] == [302] * 5 + [429]
    assert [join(quiz_session.code, f"p{n}", "203.0.113.7") for n in range(5)] == [302] * 5


# --- 4. Host permissions ------------------------------------------------------------------


def press_next(user, session) -> int:
    return logged_in(user).post(f"/host/{session.code}/next").status_code


@pytest.mark.django_db
def test_only_the_sessions_host_or_a_superuser_presses_next():
    host = make_host("host")
    session = services.session_create(quiz=make_quiz(questions=3), host=host)
    bare_staff = User.objects.create_user("staff", password="pw", is_staff=True)
    other_host = make_host("other")

    assert press_next(bare_staff, session) == 403
    assert press_next(other_host, session) == 403
    session.refresh_from_db()
    assert session.state == "lobby"  # a refused click changes nothing

    assert press_next(host, session) == 204
    session.refresh_from_db()
    assert session.state == "open"
    superuser = User.objects.create_superuser("root", "root@example.com", "pw")
    assert press_next(superuser, session) == 204
    session.refresh_from_db()
    assert session.state == "closed"


@pytest.mark.django_db
def test_other_staff_watch_the_host_screen_without_its_controls():
    host = make_host("host")
    session = services.session_create(quiz=make_quiz(questions=1), host=host)
    watcher = User.objects.create_user("staff", password="pw", is_staff=True)

    watched = logged_in(watcher).get(f"/host/{session.code}").content.decode()
    assert session.code in watched and "is-watching" in watched and "You are watching" in watched
    hosted = logged_in(host).get(f"/host/{session.code}").content.decode()
    assert "is-watching" not in hosted and "Start the quiz" in hosted


@pytest.mark.django_db
def test_starting_a_session_from_the_admin_needs_the_host_permission():
    quiz = make_quiz(questions=1)
    editor = User.objects.create_user("editor", password="pw", is_staff=True)
    editor.user_permissions.add(*Permission.objects.filter(codename__in=["view_quiz", "change_quiz"]))
    start = f"/admin/quizzes/quiz/{quiz.pk}/start/"

    assert logged_in(editor).post(start).status_code == 403
    assert not QuizSession.objects.exists()

    host = make_host("host")
    host.user_permissions.add(Permission.objects.get(codename="view_quiz"))
    response = logged_in(host).post(start)
    session = QuizSession.objects.get()
    assert response["Location"] == f"/host/{session.code}" and session.host == host


# --- 5. Admin login throttle --------------------------------------------------------------


def admin_login(username: str, password: str, address: str):
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": username, "password": password,
                                                          "next": "/admin/"}, REMOTE_ADDR=address)
    return response, client


@pytest.mark.django_db
def test_wrong_admin_passwords_lock_that_username_from_that_address_only():
    User.objects.create_superuser("admin", "admin@example.com", "the-right-password")
    User.objects.create_user("teacher", password="teachers-password", is_staff=True)
    attacker = "203.0.113.99"

    statuses = [admin_login("admin", f"guess-{n}", attacker)[0].status_code for n in range(30)]
    assert statuses[0] == 200 and statuses[-1] == 429  # the form again, then locked out
    locked, client = admin_login("admin", "the-right-password", attacker)
    assert locked.status_code == 429 and client.get("/admin/").status_code == 302  # not logged in

    # The real admin, from their own address, logs in as usual.
    admin, client = admin_login("admin", "the-right-password", "198.51.100.4")
    assert admin.status_code == 302 and admin["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    # And someone else behind the attacker's address logs in under their own name.
    teacher, _ = admin_login("teacher", "teachers-password", attacker)
    assert teacher.status_code == 302
