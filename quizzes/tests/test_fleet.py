"""Past one machine: each web process hears only the events of the sessions it serves."""

import pytest

from quizzes import services
from tests.support import clients
from tests.support.quizzes import correct_choice, make_quiz
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def events(port: int, local: str) -> float:
    return clients.metric(port, "elsa_live_events_received_total", for_local_room=local)


def test_each_web_process_receives_only_its_own_sessions_events(rig, here):
    _, env = rig.private_redis(here)
    web_a, web_b = rig.web(env, name="web-a"), rig.web(env, name="web-b")
    first, second = (services.session_create(quiz=make_quiz(questions=1, time_limit=60)) for _ in range(2))
    players = {s.pk: [services.participant_join(code=s.code, nickname=f"p{n}") for n in range(5)]
               for s in (first, second)}
    feed_a = rig.socket(web_a.port, f"/livescore/{first.code}")  # A serves the first session only,
    feed_b = rig.socket(web_b.port, f"/livescore/{second.code}")  # B the second
    feed_a.recv(timeout=10)
    feed_b.recv(timeout=10)
    before = {port: events(port, "yes") for port in (web_a.port, web_b.port)}

    for session in (first, second):
        services.session_next(session_id=session.pk)
    for player in players[second.pk]:  # only the second session is busy
        services.answer_submit(participant_id=player.pk, session_id=second.pk, choice_id=correct_choice(second).pk)
    services.score_all_pending()
    # The second session: its question opening, five answers, one scored batch.
    wait_for(lambda: events(web_b.port, "yes") >= before[web_b.port] + 7, what="B to hear the second session")

    heard_a = events(web_a.port, "yes") - before[web_a.port]
    heard_b = events(web_b.port, "yes") - before[web_b.port]
    print(f"events heard: A (first session, one stage change) {heard_a}, B (second, busy) {heard_b}")
    assert heard_a <= 2, "A heard events of a session it does not serve"
    assert heard_b >= 7
    assert events(web_a.port, "no") == events(web_b.port, "no") == 0
