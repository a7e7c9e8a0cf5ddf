"""Operations: /metrics in Prometheus text format, and structured logs keyed by session code."""

import asyncio
import json
import logging
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from elsa.processes import ROOT
from live.hub import IDLE_CHANNEL, send_all
from live.outlet import Outlet
from monitoring import metrics
from monitoring.logs import JsonFormatter, event
from quizzes import services
from quizzes.models import Answer
from tests.support.communicators import connect, joined_cookie, make_session, receive_until
from tests.support.quizzes import correct_choice, make_quiz
from tests.support.waiting import wait_for

METRIC_NAMES = [
    "elsa_answers_received_total",
    "elsa_open_websockets",
    "elsa_tick_seconds_bucket",
    "elsa_tick_seconds_count",
    "elsa_frames_sent_total",
    "elsa_answers_scored_total",
    "elsa_answers_pending",
    "elsa_scoring_lag_seconds",
    "elsa_database_up",
    "elsa_event_loop_lag_seconds",
    "elsa_live_events_received_total",
]


def scrape(**headers) -> dict[tuple[str, tuple], float]:
    """Every sample /metrics serves, keyed by (sample name, sorted labels)."""
    response = Client().get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


# /metrics ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_serves_every_metric_as_prometheus_text():
    response = Client().get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    body = response.content.decode()
    for name in METRIC_NAMES:
        assert f"\n{name}" in body, f"{name} missing from /metrics"
    samples = scrape()
    assert value(samples, "elsa_database_up") == 1
    for kind in ("player", "host", "screen", "feed"):
        assert value(samples, "elsa_open_websockets", kind=kind) >= 0
    assert value(samples, "elsa_answers_received_total", result="stored") >= 0
    assert value(samples, "elsa_answers_pending") == 0
    assert value(samples, "elsa_scoring_lag_seconds") == 0
    assert any(name == "process_resident_memory_bytes" for name, _ in samples), "process metrics are served too"


@pytest.mark.django_db
def test_metrics_answers_a_scraper_that_reaches_a_replica_by_its_address():
    # Prometheus scrapes each replica by IP, which ALLOWED_HOSTS does not list; every other
    # page still refuses that host.
    assert Client().get("/", HTTP_HOST="10.0.3.7:8000").status_code == 400
    samples = scrape(HTTP_HOST="10.0.3.7:8000")
    assert value(samples, "elsa_database_up") == 1
    assert Client().post("/metrics").status_code == 405


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_an_answer_over_the_player_socket_is_counted_stored_then_scored():
    session = await make_session()
    cookie = await database_sync_to_async(joined_cookie)(session.code, "ann")
    before = await database_sync_to_async(scrape)()
    player = await connect(f"/ws/play/{session.code}", (b"cookie", cookie))
    try:
        await receive_until(player, 'id="stage"')
        live = await database_sync_to_async(scrape)()
        assert value(live, "elsa_open_websockets", kind="player") >= 1
        await database_sync_to_async(services.session_next)(session_id=session.pk)
        await receive_until(player, "Question 1 of 2")
        choice = await database_sync_to_async(correct_choice)(session)
        await player.send_to(text_data=json.dumps({"choice": choice.pk, "round": session.current_round_id}))
        await receive_until(player, "Answer locked in")

        stored = await database_sync_to_async(scrape)()
        received = lambda samples, result: value(samples, "elsa_answers_received_total", result=result)  # noqa: E731
        assert received(stored, "stored") == received(before, "stored") + 1
        assert received(stored, "duplicate") == received(before, "duplicate")
        assert value(stored, "elsa_answers_pending") == 1
        assert value(stored, "elsa_answers_scored_total") == 0
        assert value(stored, "elsa_scoring_lag_seconds") > 0
        assert value(stored, "elsa_frames_sent_total") > value(before, "elsa_frames_sent_total"), \
            "the question's stage frame went out through the hub"

        # The same answer again is refused, and counted by its refusal code.
        await player.send_to(text_data=json.dumps({"choice": choice.pk}))
        await receive_until(player, "already locked in")
        refused = await database_sync_to_async(scrape)()
        assert received(refused, "duplicate") == received(before, "duplicate") + 1
        assert received(refused, "stored") == received(stored, "stored")
        assert value(refused, "elsa_answers_pending") == 1

        assert await database_sync_to_async(services.score_all_pending)() == 1
        scored = await database_sync_to_async(scrape)()
        assert value(scored, "elsa_answers_pending") == 0
        assert value(scored, "elsa_answers_scored_total") == 1
        assert value(scored, "elsa_scoring_lag_seconds") == 0

        # The room ticks (it is dirty after the stage change and the scored answer).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while True:
            ticked = await database_sync_to_async(scrape)()
            if value(ticked, "elsa_tick_seconds_count") > value(before, "elsa_tick_seconds_count"):
                break
            assert loop.time() < deadline, "no hub tick was timed"
            await asyncio.sleep(0.05)
        assert value(ticked, "elsa_tick_seconds_bucket", le="+Inf") == value(ticked, "elsa_tick_seconds_count")
    finally:
        await player.disconnect()
    gone = await database_sync_to_async(scrape)()
    assert value(gone, "elsa_open_websockets", kind="player") == value(live, "elsa_open_websockets", kind="player") - 1


@pytest.mark.django_db
def test_scoring_lag_is_the_age_of_the_oldest_pending_answer_and_zero_when_none_is():
    session = services.session_create(quiz=make_quiz(questions=1, time_limit=60))
    ann = services.participant_join(code=session.code, nickname="ann")
    services.session_next(session_id=session.pk)
    assert value(scrape(), "elsa_scoring_lag_seconds") == 0
    services.answer_submit(participant_id=ann.pk, session_id=session.pk, choice_id=correct_choice(session).pk,
                           received_at=timezone.now() - timedelta(seconds=3))
    samples = scrape()
    assert value(samples, "elsa_answers_pending") == 1
    assert 3 <= value(samples, "elsa_scoring_lag_seconds") < 30
    services.score_all_pending()
    samples = scrape()
    assert value(samples, "elsa_answers_pending") == 0
    assert value(samples, "elsa_answers_scored_total") == Answer.objects.filter(scored_at__isnull=False).count() == 1
    assert value(samples, "elsa_scoring_lag_seconds") == 0


@pytest.mark.asyncio
async def test_frames_are_counted_once_per_socket_written_by_send_all():
    class Client_:
        kind, participant_id = "screen", None

        def __init__(self):
            self.frames = []
            self.outlet = Outlet(self.send, on_stuck=lambda: None)

        async def send(self, message):
            self.frames.append(message["text"])

    clients = [Client_(), Client_(), Client_()]
    sent = lambda: metrics.REGISTRY.get_sample_value("elsa_frames_sent_total")  # noqa: E731
    before = sent()
    send_all(clients, "board", "<p>x</p>")
    send_all([], "board", "<p>y</p>")
    assert sent() == before + 3
    assert all(c.frames == ["<p>x</p>"] for c in clients)


# Logs --------------------------------------------------------------------------------------


def session_records(caplog, code: str) -> dict[str, list[logging.LogRecord]]:
    found: dict[str, list[logging.LogRecord]] = {}
    for record in caplog.records:
        if getattr(record, "session", None) == code:
            found.setdefault(record.event, []).append(record)
    return found


@pytest.mark.django_db(transaction=True)
def test_a_session_logs_its_life_with_its_code_on_each_line(caplog):
    caplog.set_level(logging.INFO)
    session = services.session_create(quiz=make_quiz(questions=1, time_limit=60))
    ann = services.participant_join(code=session.code, nickname="ann")
    services.session_next(session_id=session.pk)  # question 1 opens
    services.answer_submit(participant_id=ann.pk, session_id=session.pk, choice_id=correct_choice(session).pk)
    services.session_next(session_id=session.pk)  # the host closes it: the answer is scored
    services.session_next(session_id=session.pk)  # and the quiz finishes

    lines = session_records(caplog, session.code)
    for name in ("session_created", "player_joined", "round_opened", "round_closed", "scoring_batch",
                 "session_finished"):
        assert name in lines, f"no {name} line for the session: {caplog.text}"
        for record in lines[name]:
            assert record.levelno == logging.INFO
            assert f"session={session.code} event={name}" in record.getMessage()
    (closed,) = lines["round_closed"]
    assert f"session={session.code} event=round_closed round=1" in closed.getMessage()
    assert f"session={session.code} event=round_closed round=1" in caplog.text
    (batch,) = lines["scoring_batch"]
    assert batch.fields["answers"] == 1 and batch.fields["seconds"] >= 0
    (joined,) = lines["player_joined"]
    assert joined.fields["participant"] == ann.pk


@pytest.mark.django_db
def test_the_sweep_logs_what_it_did_and_nothing_when_idle(caplog):
    caplog.set_level(logging.INFO, logger="quizzes.services")
    services.sweep()
    assert not [r for r in caplog.records if getattr(r, "event", None) == "sweep"]
    session = services.session_create(quiz=make_quiz(questions=1, time_limit=60))
    services.session_next(session_id=session.pk)
    services.sweep(now=timezone.now() + timedelta(seconds=90))  # the question's timer has passed
    (swept,) = [r for r in caplog.records if getattr(r, "event", None) == "sweep"]
    assert swept.fields["closed"] == 1 and swept.fields["pending"] == 0
    assert "event=sweep pending=0 closed=1" in swept.getMessage()


@pytest.mark.django_db(transaction=True)
def test_the_json_formatter_writes_one_valid_json_object_with_the_session(caplog):
    caplog.set_level(logging.INFO)
    session = services.session_create(quiz=make_quiz(questions=1))
    services.participant_join(code=session.code, nickname='Nguyễn Thu-Hà O\'Brien!')
    services.session_next(session_id=session.pk)
    services.session_next(session_id=session.pk)
    lines = session_records(caplog, session.code)
    formatter = JsonFormatter()
    closed = json.loads(formatter.format(lines["round_closed"][0]))
    assert closed["session"] == session.code and closed["event"] == "round_closed" and closed["round"] == 1
    assert closed["level"] == "INFO" and closed["logger"] == "quizzes.services.sessions"
    assert f"session={session.code}" in closed["message"]
    text = formatter.format(lines["player_joined"][0])
    assert "\n" not in text
    assert json.loads(text)["nickname"] == "Nguyễn Thu-Hà O'Brien!"


def test_a_warning_with_a_traceback_stays_one_json_line():
    record = None

    class Keep(logging.Handler):
        def emit(self, r):
            nonlocal record
            record = r

    logger = logging.getLogger("elsa.tests.json")
    handler = Keep()
    logger.addHandler(handler)
    try:
        try:
            raise ValueError('bad "thing"\nsecond line')
        except ValueError:
            event(logger, "enqueue_failed", session="ABC123", level=logging.WARNING, exc_info=True, task="t")
    finally:
        logger.removeHandler(handler)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["session"] == "ABC123" and entry["level"] == "WARNING" and entry["task"] == "t"
    assert "ValueError" in entry["exc"]


def run_django(code: str, **env) -> subprocess.CompletedProcess:
    """A fresh Python process with the project's settings, so LOGGING is built from its env."""
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "elsa.settings", **env}
    script = "import django\ndjango.setup()\n" + code
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=60)


LOG_SOME = """
import logging
from monitoring.logs import event
event(logging.getLogger("quizzes.services"), "round_closed", session="ABC123", round=3)
logging.getLogger("quizzes.services").warning("publish failed")
"""


def test_log_format_json_in_the_environment_makes_every_line_json():
    result = run_django(LOG_SOME, LOG_FORMAT="json", LOG_LEVEL="INFO")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert lines[0]["session"] == "ABC123" and lines[0]["event"] == "round_closed" and lines[0]["round"] == 3
    assert lines[1]["level"] == "WARNING" and lines[1]["message"] == "publish failed" and "session" not in lines[1]


def test_log_format_plain_is_the_default_and_anything_else_is_refused():
    result = run_django(LOG_SOME, LOG_FORMAT="", LOG_LEVEL="INFO")
    assert result.returncode == 0, result.stderr
    first = result.stderr.splitlines()[0]
    assert first.endswith("INFO quizzes.services session=ABC123 event=round_closed round=3")
    refused = run_django("", LOG_FORMAT="xml")
    assert refused.returncode != 0 and "LOG_FORMAT" in refused.stderr


def test_celery_worker_logs_follow_log_format(settings):
    from elsa.celery import json_worker_logs

    logger = logging.getLogger("elsa.tests.celery")
    handler = logging.StreamHandler()
    logger.addHandler(handler)
    try:
        settings.LOG_FORMAT = "plain"
        json_worker_logs(logger=logger)
        assert not isinstance(handler.formatter, JsonFormatter)
        settings.LOG_FORMAT = "json"
        json_worker_logs(logger=logger)
        assert isinstance(handler.formatter, JsonFormatter)
    finally:
        logger.removeHandler(handler)



def test_the_web_process_freezes_what_it_loaded_and_collects_cycles_rarely():
    # A full collection of a process holding 5,000 sockets stopped its loop for up to a
    # second (elsa/collector.py): the ASGI application tunes the collector as it loads.
    probe = ("import gc, json; before = gc.get_threshold(); import elsa.asgi; "
             "print(json.dumps([before, gc.get_threshold(), gc.get_freeze_count()]))")
    ran = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "DJANGO_SETTINGS_MODULE": "elsa.settings"})
    assert ran.returncode == 0, ran.stderr
    before, after, frozen = json.loads(ran.stdout.strip().splitlines()[-1])
    assert before == [700, 10, 10] and after == [50_000, 20, 100]
    assert frozen > 100_000  # Django and the apps, out of every later collection


def test_the_web_process_listens_for_live_events_before_any_socket_connects(rig, here):
    """The hub starts with the server (ASGI lifespan): a fresh process's first connect to
    Redis does not race a storm of sockets for the event loop."""
    redis_, env = rig.private_redis(here)
    rig.web(env)
    wait_for(lambda: IDLE_CHANNEL.encode() in redis_.client().pubsub_channels(), what="the hub's subscription")
