"""PostgreSQL paused under load: answers wait for the database, get a clear reply, and the
quiz goes on. Here every process, the data and PostgreSQL itself are private (a throwaway
cluster, tests/support/servers.py), because the test freezes the database server.
"""

import json
import re
import time

import pytest
from websockets.exceptions import ConnectionClosed

from tests.support import clients, servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_e_postgres_paused_under_load_delays_answers_and_the_quiz_goes_on(rig):
    # Here every process, the data and PostgreSQL itself are private: the test pauses it.
    cluster = rig.postgres()
    cluster.create_database("elsa")
    redis_ = rig.redis()
    env = rig.env(redis_, database_url=cluster.url("elsa"))
    servers.migrate(env)
    created = servers.django_call(env, """
from quizzes import services
from tests.support.quizzes import make_quiz
quiz = make_quiz(questions=2, time_limit=8)
quiz.questions.filter(order=1).update(time_limit_seconds=5)
session = services.session_create(quiz=quiz)
result = {"id": session.pk, "code": session.code}
""")
    code, session_id = created["code"], created["id"]
    rig.worker(env)
    web = rig.web(env)
    port = web.port

    players = []
    for n in range(12):
        browser = clients.Browser(f"http://127.0.0.1:{port}")
        browser.join(code, f"p{n:02}")
        socket = rig.socket(port, f"/ws/play/{code}", cookie=browser.cookie_header())
        players.append(socket)
        clients.recv_until(socket, 'id="stage"')
    feed = rig.socket(port, f"/livescore/{code}")
    players.append(feed)
    assert len(json.loads(feed.recv(timeout=10))) == 12

    servers.django_call(env, f"from quizzes import services\n"
                             f"services.session_next(session_id={session_id})\nresult = 1")
    stages = [clients.recv_until(p, "Question 1 of 2", what="question 1") for p in players[:12]]
    buttons = clients.stage_choices(stages[0])
    assert len(buttons) == 4
    round_id = buttons[0][1]
    right, wrong = buttons[0], buttons[1]  # make_quiz: the first choice of question 1 is correct

    for socket in players[:2]:
        socket.send(clients.answer_message(right[0], round_id))
        clients.recv_until(socket, "Answer locked in")

    def answer_while_paused(round_id: int, choices, *, pause_at: float, resume_at: float) -> dict[str, str]:
        """Pause PostgreSQL, have eight players answer, resume; each player's reply."""
        time.sleep(max(0.0, pause_at - time.time()))
        cluster.pause()
        try:
            for n, socket in enumerate(during):
                socket.send(clients.answer_message(choices[n % len(choices)], round_id))
            early = [f for socket in during for f in clients.drain(socket, 0.25)]
            time.sleep(max(0.0, resume_at - time.time()))
        finally:
            cluster.resume()
        assert not any("locked in" in f for f in early), "nothing can be stored while the database is paused"
        outcome = {}
        for n, socket in enumerate(during):
            try:
                frame = clients.recv_until(socket, lambda f: "Answer locked in" in f or clients.flash_text(f),
                                          timeout=20, what="the delayed answer's reply")
                outcome[f"p{n + 2:02}"] = ("locked" if "Answer locked in" in frame
                                           else f"refused: {clients.flash_text(frame)}")
            except ConnectionClosed as closed:
                outcome[f"p{n + 2:02}"] = f"socket closed: {closed}"
        problems = {n: o for n, o in outcome.items() if not (o == "locked" or o.startswith("refused: "))}
        assert not problems, f"answers sent while PostgreSQL was paused got no clear reply: {problems}"
        return outcome

    # Question 1: a 3 s pause well inside the question; the answers wait for the database.
    during = players[2:10]
    first = answer_while_paused(round_id, [wrong[0], right[0], right[0]], pause_at=time.time(),
                                resume_at=time.time() + 3)

    # The quiz goes on: question 1 closes by its timer, question 2 opens.
    stages = [clients.recv_until(socket, "Question 2 of 2", timeout=30, what="question 2 after the pause")
              for socket in players[:12]]
    buttons = clients.stage_choices(stages[0])
    closes_at = int(re.search(r'data-closes-at="(\d+)"', stages[0]).group(1)) / 1000
    # Question 2: the pause spans its close. Answers arrive 1 s before the close and wait;
    # the close_round timer waits too, and after the resume either may win the race.
    second = answer_while_paused(buttons[0][1], [buttons[1][0], buttons[0][0]], pause_at=closes_at - 1.5,
                                 resume_at=closes_at + 1.5)
    reveals = {f"p{n + 2:02}": clients.recv_until(socket, "The answer:", timeout=30, what="question 2's reveal")
               for n, socket in enumerate(during)}
    for socket in players[:12]:
        clients.recv_until(socket, "Quiz over!", timeout=30, what="the end of the quiz")
    # A close waits for answers still being stored (docs/system-design.md section 6): every
    # answer a player was told is locked in is in their reveal, never "No answer".
    gap = sorted(nick for nick, o in second.items() if o == "locked" and "No answer" in reveals[nick])

    check = servers.django_call(env, f"""
from quizzes import selectors
from quizzes.models import Answer, QuizSession
session = QuizSession.objects.get(pk={session_id})
answers = [[a.round.index, a.participant.nickname, a.scored_at is not None] for a in
           Answer.objects.filter(round__session=session).select_related("participant", "round")]
result = {{"state": session.state, "rounds": session.rounds.count(), "answers": answers,
          "audit": selectors.audit(session)}}
""")
    print(f"replies to answers sent during the pauses: question 1 {first}, question 2 {second}; "
          f"locked in but revealed as 'No answer': {gap}")
    assert check["state"] == "finished" and check["rounds"] == 2
    assert gap == [], f"locked in, but revealed as 'No answer': {gap}"
    assert check["audit"] == []
    assert all(done for _, _, done in check["answers"])
    stored = {index: {nick for i, nick, _ in check["answers"] if i == index} for index in (0, 1)}
    # Stored if and only if the player was told it is locked in: nothing half-stored.
    assert stored[0] == {"p00", "p01"} | {nick for nick, o in first.items() if o == "locked"}
    assert stored[1] == {nick for nick, o in second.items() if o == "locked"}
    for reply in [*first.values(), *second.values()]:
        assert reply == "locked" or reply in {"refused: This question is not open for answers.",
                                              "refused: Time is up for this question."}, reply
