"""What a class sees, in a real Chromium: the host's screen on a 1366×768 projector, a
phone at 390×844 and the big screen, stage by stage and for every kind of question. Each
stage fits one screen, its controls are in view, every image loads, one rank everywhere.
Screenshots of each go to artifacts/screens/."""

import re

import pytest

from live import presence
from quizzes import rules, services
from quizzes.models import Answer, Participant, Question
from tests.support.pages import log_in
from tests.support.quizzes import make_host, make_quiz_of_every_kind
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
PROJECTOR = {"viewport": {"width": 1366, "height": 768}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
Kind = Question.Kind


def assert_fits(page, what: str) -> None:
    """The page's stage fits its screen: nothing to scroll to, either way."""
    size = page.evaluate("() => [document.scrollingElement.scrollHeight, innerHeight,"
                         " document.scrollingElement.scrollWidth, innerWidth]")
    assert size[0] <= size[1] and size[2] <= size[3], f"{what} needs scrolling: {size}"


def assert_in_view(page, selector: str, what: str) -> None:
    box = page.locator(selector).first.evaluate(
        "el => { const r = el.getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width, height: r.height}; }")
    viewport = page.viewport_size
    assert box["height"] > 0, f"{what}: {selector} is not shown"
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], f"{what}: {selector} at {box}"
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], f"{what}: {selector} at {box}"


def assert_images_load(page, what: str) -> None:
    page.wait_for_function("() => [...document.images].every(img => img.complete)")
    broken = page.evaluate("() => [...document.images].filter(img => !img.naturalWidth).map(img => img.src)")
    assert broken == [], f"{what}: broken images {broken}"


def assert_rank_badge_matches_my_row(phone) -> None:
    phone.wait_for_selector("#leaderboard li.is-me")
    row = phone.inner_text("#leaderboard li.is-me .rank")
    assert phone.inner_text("#my-rank") == f"#{row}"


def check(page, name: str, screenshots, *controls: str) -> None:
    # Rows that just changed places slide there: measure where they stop.
    page.wait_for_function("() => [...document.querySelectorAll('#leaderboard li')]"
                           ".every(row => !row.getAnimations().length)")
    screenshots(page, name)
    assert_fits(page, name)
    for selector in controls:
        assert_in_view(page, selector, name)
    assert_images_load(page, name)


def answer(phone, question: Question) -> None:
    """The right answer, by touch; typed words and word order by keyboard."""
    if question.kind == Kind.TYPED:
        phone.fill("#answer-text", rules.lines(question.accepted_answers)[0])
        phone.press("#answer-text", "Enter")
    elif question.kind == Kind.ORDER:
        words = rules.sentence_words(rules.lines(question.accepted_answers)[0])
        phone.click(f".tiles button.tile[data-word='{words[-1]}']")  # a slip, taken back
        phone.click(f".sentence button.tile[data-word='{words[-1]}']")
        for word in words:
            phone.focus(f".tiles button.tile[data-word='{word}']")
            phone.keyboard.press("Enter")
        assert phone.inner_text(".sentence").split() == words
        phone.focus(".order-answer button[type=submit]")
        phone.keyboard.press("Enter")
    else:
        phone.click(f"button.choice:has-text('{question.choices.get(is_correct=True).text}')")
    phone.wait_for_selector("text=Answer locked in")


CONTROLS = {Kind.TYPED: ("#answer-text", ".typed-answer button[type=submit]"),
            Kind.ORDER: (".tiles button.tile", ".order-answer button[type=submit]")}


def test_every_stage_and_every_kind_fits_its_screen(live_server_url, browser, screenshots):
    quiz = make_quiz_of_every_kind(time_limit=60)
    session = services.session_create(quiz=quiz, host=make_host("teacher"), scores_live=False, auto_advance=False)
    for n in range(28):  # a class of thirty on the board, two of them connected
        services.participant_join(code=session.code, nickname=f"Pupil {n + 1:02}")

    host = browser.new_context(**PROJECTOR).new_page()
    log_in(host, live_server_url, f"/host/{session.code}")
    host.wait_for_selector(".big-code")
    host.wait_for_function("() => document.querySelector('img.qr').complete")
    assert host.evaluate("() => document.querySelector('img.qr').naturalWidth") > 0

    phone = browser.new_context(**PHONE).new_page()
    phone.goto(f"{live_server_url}/?code={session.code}")
    phone.fill("#id_nickname", "Ann")
    phone.click("button[type=submit]")
    phone.wait_for_selector("text=You're in as Ann")
    assert not phone.is_visible("#leaderboard")  # not a board of zeros
    # A second connected player who never answers: each question stays open until the
    # host closes it, so every phone stage (locked in included) can be looked at.
    bo = browser.new_context(**PHONE).new_page()
    bo.goto(f"{live_server_url}/?code={session.code}")
    bo.fill("#id_nickname", "Bo")
    bo.click("button[type=submit]")
    bo.wait_for_selector("text=You're in as Bo")
    check(phone, "phone-1-lobby", screenshots)
    host.wait_for_selector("#roster li:has-text('Ann')")
    check(host, "host-1-lobby", screenshots, ".host-action button", "img.qr")

    screen = browser.new_context(**PROJECTOR).new_page()
    screen.goto(f"{live_server_url}/livescore/{session.code}")
    screen.wait_for_selector("#leaderboard li:has-text('Ann')")
    assert screen.locator("#leaderboard li").count() >= 10
    check(screen, "screen-1-lobby", screenshots, "#screen-status .big-code", "img.qr", "#leaderboard li >> nth=9")

    host.click("text=Start the quiz")
    for number, question in enumerate(quiz.questions.order_by("order"), start=1):
        kind = question.kind
        phone.wait_for_selector(f"text=Question {number} of 6")
        controls = CONTROLS.get(kind, ("button.choice >> nth=-1",))
        check(phone, f"phone-2-question-{number}-{kind}", screenshots, ".prompt", ".countdown", *controls)
        host.wait_for_selector(f"text=Question {number} of 6")
        check(host, f"host-2-question-{number}-{kind}", screenshots, ".prompt", ".countdown", ".host-action button")
        screen.wait_for_selector(f"#screen-status:has-text('Question {number} of 6') .countdown")
        if number == 1:
            check(screen, "screen-2-question", screenshots, "#screen-status .countdown", "#leaderboard li >> nth=9")

        answer(phone, question)
        if number == 1:
            check(phone, "phone-3-locked-in", screenshots)
        host.click("text=Close question")
        phone.wait_for_selector("#my-result .right")
        assert "The answer:" in phone.inner_text("#stage")
        assert "Correct!" in phone.inner_text("#my-result") and "+" in phone.inner_text("#my-result .points-why")
        if kind not in (Kind.TYPED, Kind.ORDER):
            assert phone.locator("#my-result .you-gave .chip").count() == 1
        check(phone, f"phone-4-reveal-{number}-{kind}", screenshots, "#my-result")
        host.wait_for_selector(".stage-closed")
        last = number == 6
        check(host, f"host-3-reveal-{number}-{kind}", screenshots, ".host-action button")
        if kind in (Kind.TYPED, Kind.ORDER):
            assert "1 of 1 answer right" in host.inner_text(".right-count")

        host.click("text=Show the podium" if last else "text=Show the leaderboard")
        if last:
            break
        phone.wait_for_selector(".stage-standings")
        phone.wait_for_selector("#leaderboard li.is-me")
        assert_rank_badge_matches_my_row(phone)
        check(phone, f"phone-5-leaderboard-{number}", screenshots, "#leaderboard li.is-me")
        host.wait_for_selector(".stage-standings")
        check(host, f"host-4-leaderboard-{number}", screenshots, ".host-action button", "#leaderboard li >> nth=9")
        if number == 1:
            screen.wait_for_selector("#screen-status:has-text('After question 1')")
            check(screen, "screen-3-leaderboard", screenshots, "#leaderboard li >> nth=9")
        host.click("text=Next question")

    host.wait_for_selector(".podium")
    check(host, "host-5-podium", screenshots)
    assert host.locator("text=Open the report").is_visible()  # the teacher's next step
    phone.wait_for_selector("#my-result .final")
    assert_rank_badge_matches_my_row(phone)
    assert phone.inner_text("#my-rank") == "#1"
    check(phone, "phone-6-finished", screenshots, "text=See the words you missed", "text=Join another quiz")
    screen.wait_for_selector("#screen-status:has-text('Final scores')")
    check(screen, "screen-4-finished", screenshots, "#leaderboard li >> nth=9")


def test_equal_scores_share_a_rank_on_the_badge_and_the_board(live_server_url, browser):
    session = services.session_create(quiz=make_quiz_of_every_kind(time_limit=60), scores_live=False,
                                      auto_advance=False)
    for nickname in ("Bea", "Cy"):
        services.participant_join(code=session.code, nickname=nickname)
    phone = browser.new_context(**PHONE).new_page()
    phone.goto(f"{live_server_url}/?code={session.code}")
    phone.fill("#id_nickname", "Zed")  # last in name order, tied with everyone at 0
    phone.click("button[type=submit]")
    phone.wait_for_selector("text=You're in as Zed")
    services.session_next(session_id=session.pk)
    services.session_next(session_id=session.pk)  # nobody answered: all tied at 0
    services.session_next(session_id=session.pk)
    phone.wait_for_selector(".stage-standings")
    assert_rank_badge_matches_my_row(phone)
    assert phone.inner_text("#my-rank") == "#1"
    assert phone.inner_text("#leaderboard li.is-me .rank") == "1"
    assert [r.strip() for r in phone.locator("#leaderboard li .rank").all_inner_texts()] == ["1", "1", "1"]


def player_page(browser, live_server_url: str, code: str, nickname: str, frames: list):
    page = browser.new_context(**PHONE).new_page()
    page.on("websocket", lambda socket: socket.on("framereceived", lambda frame: frames.append(frame)))
    page.goto(f"{live_server_url}/?code={code}")
    page.fill("#id_nickname", nickname)
    page.click("button[type=submit]")
    page.wait_for_selector(f"text=You're in as {nickname}")
    return page


# A score or a rank in a frame: the player's own, or a row of the board.
SHOWN = re.compile(r'id="my-score">(\d+)<|id="my-rank" class="me-rank">#(\d+)<'
                   r'|class="rank">(\d+)<|class="score">(\d+)<')


def scores_and_ranks(frames: list) -> set[str]:
    return {value for frame in frames for match in SHOWN.findall(frame) for value in match if value}


@pytest.mark.worker
@pytest.mark.parametrize("scores_live", [False, True], ids=["at-the-reveal", "live"])
def test_with_scores_at_the_reveal_no_frame_moves_a_score_before_the_close(
        live_server_url, browser, celery_worker_process, scores_live):
    """What the phones receive while a question is open, a right answer scored by the
    worker meanwhile: at the reveal, nothing of any score, rank or board (the answerer's
    own included); live, the answerer's score arrives at once (so this test can see one)."""
    session = services.session_create(quiz=make_quiz_of_every_kind(time_limit=60), scores_live=scores_live,
                                      auto_advance=False)
    ann_frames: list = []
    bob_frames: list = []
    ann = player_page(browser, live_server_url, session.code, "Ann", ann_frames)
    player_page(browser, live_server_url, session.code, "Bob", bob_frames)  # connected, not answering
    bob = Participant.objects.get(session=session, nickname="Bob")
    # Bob counts as connected (a web process vouches every few seconds): the question
    # stays open until the host closes it.
    wait_for(lambda: bob.pk in presence.present(session.pk), what="Bob's presence")
    services.session_next(session_id=session.pk)
    ann.wait_for_selector("text=Question 1 of 6")
    ann_frames.clear()
    bob_frames.clear()

    answer(ann, session.quiz.questions.order_by("order").first())
    wait_for(lambda: Answer.objects.filter(scored_at__isnull=False, points__gt=0).exists(), what="the worker's scoring")
    # A board tick and the score push, had there been any. (Playwright hands over the
    # frames it received while the test waits in a Playwright call, not in time.sleep.)
    ann.wait_for_timeout(1500)
    # Everyone is at 0 and so tied at #1: any other number in a frame is a score moving.
    shown = scores_and_ranks(ann_frames + bob_frames)
    if scores_live:
        assert shown - {"0", "1"} and ann.inner_text("#my-score") != "0"
        return
    session.refresh_from_db()
    assert session.state == "open"
    assert shown <= {"0", "1"} and ann.inner_text("#my-score") == "0"

    services.session_next(session_id=session.pk)  # the close: everything moves at once
    ann.wait_for_selector("#my-result .right")
    points = str(Answer.objects.get().points)
    ann.wait_for_function(f"() => document.querySelector('#my-score').textContent === '{points}'")


MOVE_LAST_ROW_TO_THE_TOP = """() => {
    const rows = document.querySelector('#leaderboard ol');
    document.dispatchEvent(new Event('htmx:wsBeforeMessage'));
    rows.prepend(rows.lastElementChild);
    document.dispatchEvent(new Event('htmx:wsAfterMessage'));
    return [...rows.children].filter(row => row.getAnimations().length).length;
}"""


@pytest.mark.parametrize("motion", ["no-preference", "reduce"])
def test_the_big_screen_slides_rows_to_their_new_rank_unless_asked_for_less_motion(live_server_url, browser, motion):
    session = services.session_create(quiz=make_quiz_of_every_kind(), auto_advance=False)
    for nickname in ("Ann", "Bob", "Cy"):
        services.participant_join(code=session.code, nickname=nickname)
    screen = browser.new_context(**PROJECTOR, reduced_motion=motion).new_page()
    screen.goto(f"{live_server_url}/livescore/{session.code}")
    screen.wait_for_selector("#leaderboard li:has-text('Cy')")
    moving = screen.evaluate(MOVE_LAST_ROW_TO_THE_TOP)
    assert moving == (3 if motion == "no-preference" else 0)
