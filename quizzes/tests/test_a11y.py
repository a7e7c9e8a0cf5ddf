"""Accessibility in a real Chromium: keyboard only, announced changes, meaning beyond colour.

The quiz is driven from here through quizzes.services; the player and the host act in
the browser with the keyboard alone.
"""

import pytest
from django.conf import settings
from django.test import Client

from live import presence
from quizzes import services
from quizzes.models import Participant, QuizSession
from tests.support.quizzes import make_host, make_quiz

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
LAPTOP = {"viewport": {"width": 1280, "height": 800}}

FOCUSED = """() => { const e = document.activeElement;
  return {tag: e.tagName, id: e.id, text: (e.innerText || '').trim(), outline: getComputedStyle(e).outlineStyle}; }"""


def tab_until(page, selector: str, *, text: str | None = None, limit: int = 12, key: str = "Tab") -> list[dict]:
    """Press Tab until the focused element matches; return what got focus on the way."""
    visited = []
    for _ in range(limit):
        page.keyboard.press(key)
        focused = page.evaluate(FOCUSED)
        visited.append(focused)
        matches = page.evaluate("s => document.activeElement.matches(s)", selector)
        if matches and (text is None or text in focused["text"]):
            return visited
    raise AssertionError(f"{selector} {text or ''} not reached by {key} in {limit} presses: {visited}")


def assert_focus_is_visible(page) -> None:
    assert page.evaluate(FOCUSED)["outline"] not in {"none", ""}, "keyboard focus has no visible outline"


def attribute_ids(page, selector: str, attribute: str) -> list[str]:
    return (page.get_attribute(selector, attribute) or "").split()


def join_by_keyboard(page, live_server_url: str, code: str, nickname: str, screenshots=None) -> None:
    """Tab to the code, type it, Tab to the nickname, type it, Enter: first with mistakes."""
    page.goto(f"{live_server_url}/")
    visited = tab_until(page, "#id_code", limit=3)
    assert visited[0]["text"] == "Skip to content"
    assert_focus_is_visible(page)
    # No code yet: the form says so, on the field, and puts the keyboard back there.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_nickname"
    page.keyboard.type(f"{nickname} <b>x</b>")
    with page.expect_navigation() as navigation:
        page.keyboard.press("Enter")
    assert navigation.value.status == 400
    error = page.locator("#code-error")
    assert error.get_attribute("role") == "alert" and "Enter the game code" in error.inner_text()
    assert page.get_attribute("#id_code", "aria-invalid") == "true"
    assert {"code-help", "code-error"} <= set(attribute_ids(page, "#id_code", "aria-describedby"))
    assert page.get_attribute("#id_nickname", "aria-invalid") is None
    assert page.evaluate("document.activeElement.id") == "id_code", "focus is not on the field to correct"
    if screenshots:
        screenshots(page, "a11y-join-error-code")

    page.keyboard.type(code)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_nickname"
    assert page.input_value("#id_nickname") == f"{nickname} <b>x</b>"  # kept from the last try
    with page.expect_navigation() as navigation:
        page.keyboard.press("Enter")
    assert navigation.value.status == 400
    error = page.locator("#nickname-error")
    assert error.get_attribute("role") == "alert" and "Use letters, digits" in error.inner_text()
    assert page.get_attribute("#id_nickname", "aria-invalid") == "true"
    assert "nickname-error" in attribute_ids(page, "#id_nickname", "aria-describedby")
    assert page.get_attribute("#id_code", "aria-invalid") is None
    assert page.locator("[role=alert]:visible").count() == 1
    assert page.evaluate("document.activeElement.id") == "id_nickname", "focus is not on the field to correct"
    assert not Participant.objects.exists()
    if screenshots:
        screenshots(page, "a11y-join-error-nickname")

    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(nickname)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector("text=You're in as")
    assert Participant.objects.get().nickname == nickname


def host_page(browser, live_server_url: str, session):
    staff = make_host("teacher")
    QuizSession.objects.filter(pk=session.pk).update(host=staff)
    client = Client()
    client.force_login(staff)
    context = browser.new_context(**LAPTOP)
    context.add_cookies([{
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": live_server_url,
    }])
    page = context.new_page()
    page.goto(f"{live_server_url}/host/{session.code}")
    page.wait_for_selector(".big-code")
    return page


def host_button_by_keyboard(host, label: str) -> None:
    """Tab reaches the host's action button, with its focus shown."""
    host.wait_for_selector(f".host-action button:has-text('{label}')")
    tab_until(host, ".host-action button", text=label, limit=8)
    assert_focus_is_visible(host)


def answer_wrong(session, participant) -> None:
    session.refresh_from_db()
    wrong = session.current_round.question.choices.filter(is_correct=False).first()
    services.answer_submit(participant_id=participant.pk, session_id=session.pk, choice_id=wrong.pk)


def test_the_join_form_works_by_keyboard_alone_and_announces_errors(live_server_url, browser, screenshots):
    session = services.session_create(quiz=make_quiz(questions=1))
    page = browser.new_context(**PHONE).new_page()
    join_by_keyboard(page, live_server_url, session.code, "Ann", screenshots)
    assert page.url.endswith(f"/play/{session.code}")
    screenshots(page, "a11y-player-lobby")


def test_a_player_answers_by_keyboard_and_hears_the_question_and_the_result(live_server_url, browser, screenshots):
    session = services.session_create(quiz=make_quiz(questions=2, time_limit=60), auto_advance=False)
    host = host_page(browser, live_server_url, session)
    phone = browser.new_context(**PHONE).new_page()
    join_by_keyboard(phone, live_server_url, session.code, "Ann")

    host.wait_for_selector("#roster li:has-text('Ann')")
    host_button_by_keyboard(host, "Start the quiz")
    screenshots(host, "a11y-host-lobby")
    # Bob is connected on another web process and answers last. Until he does, each
    # question stays open and Ann's "locked in" stays on screen; his answer closes it at
    # once (everyone connected has answered: live/presence.py). With Ann alone, her own
    # answer would close it, and the reveal may reach her phone before the reply to her
    # answer does (two paths: the reply, and the close's event through Redis).
    bob = services.participant_join(code=session.code, nickname="Bob")
    presence.vouch_now("another-web-process", {session.pk: {bob.pk}}, seconds=3600)

    # The live regions present before the first question: an announcement needs one that
    # stays in the page while its content changes, not one swapped in already filled.
    phone.wait_for_selector("#stage[aria-live=polite]")
    phone.evaluate("document.querySelectorAll('[aria-live]').forEach(e => { e.__before = true; })")

    # Question 1: Tab through every choice, answer with Enter.
    services.session_next(session_id=session.pk)
    phone.wait_for_selector("button.choice")
    stage = phone.locator("#stage")
    assert stage.get_attribute("aria-live") in {"polite", "assertive"}
    assert stage.locator("h1.prompt").inner_text() == "Question 1?"
    assert stage.locator("button.choice").count() == 4
    assert phone.evaluate("""() => {
        for (let e = document.querySelector('h1.prompt'); e; e = e.parentElement) {
            const live = e.getAttribute('aria-live');
            if (live && live !== 'off' && e.__before) return true;
        }
        return false; }"""), "the question lands in a live region that was not in the page before"
    choices = phone.locator("button.choice").all_inner_texts()
    visited = tab_until(phone, "button.choice", text=choices[-1])
    # Skip link, home link, then each choice in order: nothing hidden takes a stop.
    assert [v["tag"] for v in visited] == ["A", "A", "BUTTON", "BUTTON", "BUTTON", "BUTTON"], visited
    assert [v["text"] for v in visited[2:]] == choices, visited
    session.refresh_from_db()
    correct = session.current_round.question.choices.get(is_correct=True).text
    tab_until(phone, "button.choice", text=correct, key="Shift+Tab", limit=4)
    assert_focus_is_visible(phone)
    screenshots(phone, "a11y-player-question")
    phone.keyboard.press("Enter")
    locked = phone.locator("#stage [role=status]", has_text="Answer locked in")
    locked.wait_for()
    assert correct in locked.inner_text() and phone.locator("#stage [role=status]").count() == 1
    screenshots(phone, "a11y-player-locked-in")
    # No trap: the keyboard still moves through the page after answering.
    phone.keyboard.press("Tab")
    first = phone.evaluate(FOCUSED)
    phone.keyboard.press("Tab")
    assert phone.evaluate(FOCUSED) != first

    # Bob answers: everyone connected has, and the question closes without waiting for its timer.
    answer_wrong(session, bob)
    # The reveal: words and an icon, a class of its own, not colour alone.
    right = phone.locator("#stage #my-result .right")
    right.wait_for()
    right_text = right.inner_text()
    assert "Correct!" in right_text and "✔" in right_text
    assert right.get_attribute("class") == "right"
    screenshots(phone, "a11y-player-correct")
    host.wait_for_selector(".distribution .is-correct")
    assert "✔" in host.inner_text(".distribution .is-correct")
    screenshots(host, "a11y-host-reveal")
    host_button_by_keyboard(host, "Show the leaderboard")
    host.keyboard.press("Enter")
    phone.wait_for_selector(".stage-standings")

    # Question 2, opened from the keyboard: a wrong choice with Space.
    host_button_by_keyboard(host, "Next question")
    host.keyboard.press("Enter")
    phone.wait_for_selector("text=Question 2 of 2")
    phone.wait_for_selector("button.choice:not([disabled])")
    session.refresh_from_db()
    wrong = session.current_round.question.choices.filter(is_correct=False).first().text
    tab_until(phone, "button.choice", text=wrong)
    phone.keyboard.press("Space")
    phone.locator("[role=status]", has_text="Answer locked in").wait_for()
    assert wrong in phone.inner_text("[role=status].locked")
    answer_wrong(session, bob)

    wrong_result = phone.locator("#stage #my-result .wrong")
    wrong_result.wait_for()
    wrong_text = wrong_result.inner_text()
    assert "Not this time" in wrong_text and "✘" in wrong_text
    assert wrong_result.get_attribute("class") == "wrong"
    session.refresh_from_db()
    assert session.state == QuizSession.State.QUESTION_CLOSED
    screenshots(phone, "a11y-player-wrong")

    services.session_next(session_id=session.pk)
    host.wait_for_selector(".podium")
    phone.wait_for_selector("#my-result .final")
    assert "#1" in phone.inner_text("#my-result")
    screenshots(host, "a11y-host-podium")
    screenshots(phone, "a11y-player-final")
