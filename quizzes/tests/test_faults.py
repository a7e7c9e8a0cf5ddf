"""Fault tests: real processes are killed, paused, flushed and restarted mid-quiz.

Each test starts its own redis-server, Celery worker (with beat) and uvicorn, and for the
database pause its own PostgreSQL cluster (tests/support/servers.py), and harms only those.
The test process itself uses pytest-django's test database (transaction=True) and is
pointed at the private Redis and broker, so its services calls enqueue to the private
worker. Timers are short: REVEAL_SECONDS=1, SWEEP_PENDING_AFTER=1, SWEEP_INTERVAL=1.

These tests share the test database with the rest of the suite, so conftest's shared
`celery_worker_process` (whose beat sweeps that database) must not be running while they
do: marked `worker`, they sort after everything else but before test_worker.py, the only
user of that fixture.
"""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from websockets.exceptions import ConnectionClosed

from elsa import processes
from leaderboard import board
from quizzes import services
from quizzes.models import Answer, Participant, QuizSession
from tests.support import clients, servers
from tests.support.quizzes import (
    assert_audit_clean,
    correct_choice,
    db_standings,
    expected_points,
    make_quiz,
    same_board,
    scored,
    wrong_choice,
)
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


# 1 -----------------------------------------------------------------------------------------


def test_a_worker_killed_mid_burst_scores_every_answer_exactly_once(rig, here):
    redis_ = rig.redis()
    here(redis_)
    worker = rig.worker(rig.env(redis_))
    # A long question: the answers must be scored by the worker, not by the question's close.
    session = services.session_create(quiz=make_quiz(questions=1, time_limit=120))
    players = [services.participant_join(code=session.code, nickname=f"p{n:03}") for n in range(300)]
    services.session_next(session_id=session.pk)
    right, wrong = correct_choice(session), wrong_choice(session)

    def submit(group):
        for player in group:
            services.answer_submit(participant_id=player.pk, session_id=session.pk,
                                   choice_id=(wrong if player.pk % 4 == 0 else right).pk)

    submit(players[:100])
    wait_for(lambda: scored(session) > 0, what="the worker to start scoring the burst")
    worker.kill()  # SIGKILL to the worker, its pool children and its beat, mid-burst
    scored_at_kill = scored(session)
    submit(players[100:])  # the rest of the burst arrives while no worker runs
    assert Answer.objects.filter(round__session=session).count() == 300
    time.sleep(1.5)
    assert scored(session) == scored_at_kill < 300, "nothing is scored while the worker is dead"

    worker.start()
    wait_for(lambda: scored(session) == 300, timeout=60, what="every answer to be scored after the restart")

    answers = list(Answer.objects.filter(round__session=session).select_related("round__question", "choice"))
    for answer in answers:
        assert answer.is_correct == answer.choice.is_correct
        assert answer.points == expected_points(answer, streak=1 if answer.is_correct else 0)
    points = {a.participant_id: a.points for a in answers}
    totals = dict(Participant.objects.filter(session=session).values_list("pk", "score"))
    assert totals == points, "each score is its one answer's points, counted once"
    assert sum(totals.values()) > 0

    # The host closes the question: the board is exactly the database from then on (a kill
    # between a scoring commit and its Redis write can leave a live board entry behind
    # until this close).
    services.session_next(session_id=session.pk)
    assert QuizSession.objects.get(pk=session.pk).state == "closed"
    assert_audit_clean(session)


# 2 -----------------------------------------------------------------------------------------


def test_b_answers_arriving_while_the_broker_is_down_are_kept_and_scored_when_it_returns(rig, here):
    # The leaderboard and events keep their Redis; only the broker's Redis goes away.
    events = rig.redis()
    broker = rig.redis()
    here(events, broker.url(0))
    env = rig.env(events, broker_url=broker.url(0))
    # Supervised, as `make demo` runs it: with the Redis broker, Celery 5.7 / kombu 5.7
    # may stop the worker when the broker returns; its supervisor starts it again.
    supervisor = rig.supervisor()
    worker = supervisor.start(servers.celery_worker(rig.logdir, env))
    web = rig.web(env)
    session = services.session_create(quiz=make_quiz(questions=1, time_limit=8))
    players = [services.participant_join(code=session.code, nickname=f"p{n}") for n in range(8)]
    phones = []
    for n in range(6):
        browser = clients.Browser(f"http://127.0.0.1:{web.port}")
        browser.join(session.code, f"w{n}")
        phones.append(rig.socket(web.port, f"/ws/play/{session.code}", cookie=browser.cookie_header()))
        clients.recv_until(phones[-1], 'id="stage"')
    # One more phone, connected and silent: the question waits for its timer (it would
    # close as soon as every connected player had answered).
    silent = clients.Browser(f"http://127.0.0.1:{web.port}")
    silent.join(session.code, "silent")
    quiet = rig.socket(web.port, f"/ws/play/{session.code}", cookie=silent.cookie_header())
    services.session_next(session_id=session.pk)
    right, wrong = correct_choice(session), wrong_choice(session)
    for phone in [*phones, quiet]:
        clients.recv_until(phone, "Question 1 of 1")

    broker.stop()
    assert not processes.port_open(broker.port)
    # Phones answer all at once through the web process...
    sent = time.monotonic()
    for phone in phones:
        phone.send(clients.answer_message(right.pk, session.current_round_id))
    waited = []
    for phone in phones:
        assert right.text in clients.recv_until(phone, "Answer locked in", what="the answer locked in")
        waited.append(time.monotonic() - sent)
    # ...and the test process answers through the service.
    took = []
    for n, player in enumerate(players):
        started = time.monotonic()
        answer = services.answer_submit(participant_id=player.pk, session_id=session.pk,
                                        choice_id=(wrong if n % 3 == 0 else right).pk)
        took.append(time.monotonic() - started)
        assert answer.pk and answer.scored_at is None
    stored = Answer.objects.filter(round__session=session)
    assert stored.count() == 14 and scored(session) == 0, "stored, and nothing could reach the worker"
    everyone = set(session.participants.exclude(nickname="silent").values_list("pk", flat=True))
    assert set(stored.values_list("participant_id", flat=True)) == everyone
    print(f"with the broker down: answer_submit took {min(took):.3f}-{max(took):.3f}s; "
          f"six phones were all locked in after {max(waited):.2f}s")
    # A refused connection fails fast (Celery's publish retries take about 0.6 s): no hang.
    assert max(took) < 2.0, f"an answer waited {max(took):.2f}s on the dead broker"
    assert max(waited) < 2.0, f"six phones waited {max(waited):.2f}s for their answers to lock in"

    # Stay down past the question's end: its close_round timer cannot be delivered either.
    session.refresh_from_db()
    while timezone.now() < session.current_round.closes_at + timedelta(seconds=1.5):
        time.sleep(0.1)
    broker.start()  # same port, empty: every queued message is gone

    wait_for(lambda: QuizSession.objects.get(pk=session.pk).state == "finished", timeout=60,
             what="the sweep to score the answers and run the quiz to its end")
    assert worker.running(), "the worker runs after the outage (its supervisor restarts it if it stopped)"
    print(f"worker restarts by its supervisor: {supervisor.restarts['worker']}")
    assert scored(session) == 14
    for answer in Answer.objects.filter(round__session=session).select_related("round__question", "choice"):
        assert answer.points == expected_points(answer, streak=1 if answer.choice.is_correct else 0)
    for phone in phones:
        assert "Quiz over!" in clients.recv_until(phone, "Quiz over!", what="the end on the phone")
    assert_audit_clean(session)


# 3 -----------------------------------------------------------------------------------------


def test_c_redis_flushed_mid_session_rebuilds_the_leaderboard_from_the_database(rig, here):
    redis_, env = rig.private_redis(here)
    rig.worker(env)
    web = rig.web(env)
    session = services.session_create(quiz=make_quiz(questions=2, time_limit=30))
    players = [services.participant_join(code=session.code, nickname=name) for name in ("ann", "bob", "cy", "di")]
    services.session_next(session_id=session.pk)
    right, wrong = correct_choice(session), wrong_choice(session)
    for player, choice in zip(players[:3], (right, wrong, right)):
        services.answer_submit(participant_id=player.pk, session_id=session.pk, choice_id=choice.pk)
    wait_for(lambda: scored(session) == 3, what="the first answers to be scored")
    assert_audit_clean(session)

    with clients.ws_connect(web.port, f"/livescore/{session.code}") as feed:
        assert same_board(json.loads(feed.recv(timeout=10)), db_standings(session))

        with redis_.client() as client:
            client.flushall()
        assert not board.top(session_id=session.pk, limit=10).built
        assert board.top(session_id=session.pk, limit=10).players == 0

        # A change after the flush: di answers and is scored by the worker.
        services.answer_submit(participant_id=players[3].pk, session_id=session.pk, choice_id=right.pk)
        wait_for(lambda: scored(session) == 4, timeout=30, what="the answer after the flush to be scored")
        expected = db_standings(session)
        assert len(expected) == 4 and expected[0]["Score"] > 0
        frame = clients.recv_until(feed, lambda f: same_board(json.loads(f), expected), timeout=15,
                                  what="a full, correct board on the feed after the flush")
        assert len(json.loads(frame)) == 4

    assert board.top(session_id=session.pk, limit=10).built
    assert_audit_clean(session)
    # A client connecting now gets the same full board.
    with clients.ws_connect(web.port, f"/livescore/{session.code}") as late:
        assert same_board(json.loads(late.recv(timeout=10)), db_standings(session))

    # The quiz goes on: the host closes the question and the worker's timer opens the next one.
    services.session_next(session_id=session.pk)
    wait_for(lambda: QuizSession.objects.get(pk=session.pk).state == "open"
             and QuizSession.objects.get(pk=session.pk).current_round.index == 1, timeout=20,
             what="the next question to open after the flush")
    assert_audit_clean(session)


# 4 -----------------------------------------------------------------------------------------


def test_d_web_server_restarted_mid_question_keeps_a_players_locked_in_answer(rig, here):
    redis_, env = rig.private_redis(here)
    rig.worker(env)
    web = rig.web(env)
    port = web.port
    session = services.session_create(quiz=make_quiz(questions=2, time_limit=30))
    ann = clients.Browser(f"http://127.0.0.1:{port}")
    bob = clients.Browser(f"http://127.0.0.1:{port}")
    ann.join(session.code, "ann")
    bob.join(session.code, "bob")
    ann_id = Participant.objects.get(session=session, nickname="ann").pk
    # Bob is connected and does not answer: the question stays open for its timer.
    rig.socket(port, f"/ws/play/{session.code}", cookie=bob.cookie_header())

    player = clients.ws_connect(port, f"/ws/play/{session.code}", cookie=ann.cookie_header())
    try:
        assert "You're in" in clients.recv_until(player, 'id="stage"')
        services.session_next(session_id=session.pk)
        question = clients.recv_until(player, "Question 1 of 2")
        buttons = clients.stage_choices(question)
        right = correct_choice(session)
        assert (right.pk, session.current_round_id, right.text) in buttons
        player.send(clients.answer_message(right.pk, session.current_round_id))
        assert right.text in clients.recv_until(player, "Answer locked in")

        web.kill()  # a crash: no close frame
        with pytest.raises(ConnectionClosed):
            while True:
                player.recv(timeout=10)
    finally:
        player.close()

    web.start()  # a new process on the same port
    assert web.port == port
    with clients.ws_connect(port, f"/ws/play/{session.code}", cookie=ann.cookie_header()) as again:
        snapshot = clients.recv_until(again, 'id="stage"')
        assert "Question 1 of 2" in snapshot and "Answer locked in" in snapshot and right.text in snapshot
        assert 'ws-send' not in snapshot, "no choice buttons once the answer is locked in"
        again.send(clients.answer_message(right.pk, session.current_round_id))
        refused = clients.recv_until(again, 'id="flash"')
        assert "already locked in" in refused and "Answer locked in" in refused
        assert Answer.objects.filter(participant_id=ann_id).count() == 1
        assert Answer.objects.filter(round__session=session).count() == 1

        wait_for(lambda: scored(session) == 1, what="ann's answer to be scored")
        services.round_close(round_id=session.current_round_id)  # unless it closed itself already
        reveal = clients.recv_until(again, 'id="my-result"')
        points = Answer.objects.get(participant_id=ann_id).points
        assert "Correct!" in reveal and f'<span id="my-score">{points}</span>' in reveal

    with clients.ws_connect(port, f"/livescore/{session.code}") as feed:
        assert same_board(json.loads(feed.recv(timeout=10)), db_standings(session))
    assert_audit_clean(session)


# 6 -----------------------------------------------------------------------------------------


def test_f_the_quiz_runs_to_its_end_after_the_host_closes_the_host_screen(rig, here):
    from django.contrib.auth.models import User

    redis_, env = rig.private_redis(here)
    rig.worker(env)
    web = rig.web(env)
    User.objects.create_user("teacher", password="a-long-pass", is_staff=True, is_superuser=True)
    session = services.session_create(quiz=make_quiz(questions=2, time_limit=5))
    ann = services.participant_join(code=session.code, nickname="ann")
    bob = services.participant_join(code=session.code, nickname="bob")

    host = clients.Browser(f"http://127.0.0.1:{web.port}")
    host.login("teacher", "a-long-pass")
    status, page = host.request("GET", f"/host/{session.code}")
    assert status == 200 and "Start the quiz" in page
    with clients.ws_connect(web.port, f"/ws/host/{session.code}", cookie=host.cookie_header()) as screen:
        assert session.code in clients.recv_until(screen, 'id="stage"')
        status, _ = host.request("POST", f"/host/{session.code}/next",
                                 headers={"X-CSRFToken": host.cookie("csrftoken"), "HX-Request": "true"})
        assert status == 204
        clients.recv_until(screen, "Question 1 of 2")
    # The host screen is closed; only the worker's timers move the quiz on.

    services.answer_submit(participant_id=ann.pk, session_id=session.pk, choice_id=correct_choice(session).pk)
    wait_for(lambda: QuizSession.objects.get(pk=session.pk).current_round.index == 1, timeout=15,
             what="question 2 to open by itself")
    services.answer_submit(participant_id=ann.pk, session_id=session.pk, choice_id=correct_choice(session).pk)
    services.answer_submit(participant_id=bob.pk, session_id=session.pk, choice_id=correct_choice(session).pk)
    wait_for(lambda: QuizSession.objects.get(pk=session.pk).state == "finished", timeout=20,
             what="the quiz to finish without its host")

    session.refresh_from_db()
    rounds = list(session.rounds.order_by("index"))
    assert [r.index for r in rounds] == [0, 1]
    for round_ in rounds:
        late = (round_.closed_at - round_.closes_at).total_seconds()
        assert 0 <= late < 3, f"round {round_.index} closed {late:.1f}s after its timer"
    assert (rounds[1].opened_at - rounds[0].closed_at).total_seconds() < 4
    streaks = {a.pk: a.streak for a in Answer.objects.filter(round__session=session)}
    assert sorted(streaks.values()) == [1, 1, 2]
    assert_audit_clean(session)


# 7 -----------------------------------------------------------------------------------------


def test_g_two_web_processes_share_one_quiz(rig, here):
    redis_, env = rig.private_redis(here)
    rig.worker(env)
    rig.worker(env, name="worker-b")  # two workers, as compose runs them, on one broker
    web_a = rig.web(env, name="web-a")
    web_b = rig.web(env, name="web-b")
    # The reveal waits for the host: six answers close the question early (everyone
    # connected has answered), and nothing may move the quiz past the reveal unseen.
    session = services.session_create(quiz=make_quiz(questions=1, time_limit=30), auto_advance=False)

    sockets, names = [], []
    try:
        for n in range(6):
            # Everyone joins through A; odd players' sockets go to B (no sticky sessions).
            browser = clients.Browser(f"http://127.0.0.1:{web_a.port}")
            browser.join(session.code, f"p{n}")
            web = web_a if n % 2 == 0 else web_b
            socket = clients.ws_connect(web.port, f"/ws/play/{session.code}", cookie=browser.cookie_header())
            clients.recv_until(socket, 'id="stage"')
            sockets.append(socket)
            names.append(f"p{n}")
        feed = clients.ws_connect(web_a.port, f"/livescore/{session.code}")
        sockets.append(feed)
        assert len(json.loads(feed.recv(timeout=10))) == 6

        services.session_next(session_id=session.pk)
        right, wrong = correct_choice(session), wrong_choice(session)
        picks = [right, right, wrong, right, wrong, right]
        for socket, choice in zip(sockets, picks):
            clients.recv_until(socket, "Question 1 of 1")
            socket.send(clients.answer_message(choice.pk, session.current_round_id))
        # The sixth answer may close the question before its own "locked in" reply is
        # written: a reveal that comes first is kept for the check below.
        early_reveals = {}
        for name, socket, choice in zip(names, sockets, picks):
            def locked_in(frame, name=name):
                if 'id="my-result"' in frame:
                    early_reveals[name] = frame
                return "Answer locked in" in frame
            assert choice.text in clients.recv_until(socket, locked_in, what=f"{name}'s answer locked in")

        wait_for(lambda: scored(session) == 6, what="all six answers to be scored")
        expected = db_standings(session)
        clients.recv_until(feed, lambda f: same_board(json.loads(f), expected), timeout=15,
                          what="A's feed to show the answers sent through B")
        assert {e["PlayerID"] for e in expected if e["Score"] > 0} == {"p0", "p1", "p3", "p5"}

        services.round_close(round_id=session.current_round_id)  # unless it closed itself already
        answers = {a.participant.nickname: a for a in
                   Answer.objects.filter(round__session=session).select_related("participant", "round__question")}
        for name, socket, choice in zip(names, sockets, picks):
            reveal = early_reveals.get(name) or clients.recv_until(socket, 'id="my-result"', what=f"{name}'s result")
            if choice == right:
                assert "Correct!" in reveal and f"+{answers[name].points}" in reveal
            else:
                assert "Not this time" in reveal
    finally:
        for socket in sockets:
            socket.close()

    services.session_next(session_id=session.pk)  # the host shows the podium
    wait_for(lambda: QuizSession.objects.get(pk=session.pk).state == "finished", timeout=15,
             what="the quiz to finish")
    # What one process alone would have scored: the rule applied to each stored answer.
    for answer in answers.values():
        assert answer.points == expected_points(answer, streak=1 if answer.is_correct else 0)
    totals = dict(Participant.objects.filter(session=session).values_list("nickname", "score"))
    assert totals == {name: answers[name].points for name in names}
    assert_audit_clean(session)
