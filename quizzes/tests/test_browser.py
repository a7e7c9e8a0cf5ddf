"""A real Chromium: a player on a phone, the host on a laptop, the big-screen leaderboard."""

import pytest

from live import presence
from quizzes import services
from quizzes.models import Answer
from tests.support.pages import log_in
from tests.support.quizzes import make_host, make_quiz

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def test_a_player_joins_answers_and_sees_the_result_while_the_host_runs_the_quiz(live_server_url, browser, screenshots):
    session = services.session_create(quiz=make_quiz(questions=2, time_limit=60), host=make_host("teacher"),
                                      auto_advance=False)

    host = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    log_in(host, live_server_url, f"/host/{session.code}")
    host.wait_for_selector(".big-code")
    assert session.code in host.inner_text(".big-code")

    phone = browser.new_context(**PHONE).new_page()
    phone.goto(f"{live_server_url}/?code={session.code}")
    phone.fill("#id_nickname", "Ann <b>x</b>")
    phone.click("button[type=submit]")
    assert "Use letters, digits" in phone.inner_text("#nickname-error")
    phone.fill("#id_nickname", "Ann")
    phone.click("button[type=submit]")
    phone.wait_for_selector("text=You're in as")
    screenshots(phone, "player-lobby")

    host.wait_for_selector("#roster li:has-text('Ann')")
    screenshots(host, "host-lobby")
    # Bob is connected on another web process and answers after Ann: until he does, the
    # question stays open and her "locked in" stays on screen.
    bob = services.participant_join(code=session.code, nickname="Bob")
    presence.vouch_now("another-web-process", {session.pk: {bob.pk}}, seconds=3600)

    screen = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    screen.goto(f"{live_server_url}/livescore/{session.code}")
    screen.wait_for_selector("#leaderboard li:has-text('Ann')")

    host.click("text=Start the quiz")
    phone.wait_for_selector("button.choice")
    host.wait_for_selector("#answered")
    screenshots(phone, "player-question")
    correct = session.quiz.questions.first().choices.get(is_correct=True)
    phone.click(f"button.choice:has-text('{correct.text}')")
    locked = phone.locator("#stage [role=status]", has_text="Answer locked in")
    locked.wait_for()
    assert correct.text in locked.inner_text()
    screenshots(phone, "player-locked-in")
    screenshots(host, "host-question")

    # Bob answers: everyone connected has, and the question closes without waiting for its timer.
    wrong = session.quiz.questions.first().choices.filter(is_correct=False).first()
    services.answer_submit(participant_id=bob.pk, session_id=session.pk, choice_id=wrong.pk)
    phone.wait_for_selector("#my-result .right")
    points = Answer.objects.get(participant__nickname="Ann").points
    assert phone.inner_text("#my-score") == str(points)
    assert "Correct!" in phone.inner_text("#my-result")
    screenshots(phone, "player-reveal")
    host.wait_for_selector(".distribution .is-correct")
    screenshots(host, "host-reveal")
    screen.wait_for_selector(f"#leaderboard li:has-text('{points}')")
    screenshots(screen, "livescore")

    phone.reload()  # a refresh keeps the same participant, score and screen
    phone.wait_for_selector("#my-result .right")
    assert phone.inner_text("#my-score") == str(points)

    host.click("text=Show the leaderboard")
    phone.wait_for_selector(".stage-standings")
    host.click("text=Next question")
    phone.wait_for_selector("text=Question 2 of 2")
    host.click("text=Close question")
    phone.wait_for_selector("#my-result .missed")
    host.click("text=Show the podium")
    host.wait_for_selector(".podium")
    phone.wait_for_selector("#my-result .final")
    assert "#1" in phone.inner_text("#my-result")
    screenshots(phone, "player-final")
    screenshots(host, "host-podium")
