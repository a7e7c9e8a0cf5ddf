"""The question editor in a real Chromium, on a 1366×768 laptop screen as a teacher uses it."""

import pytest
from django.contrib.auth.models import User

from quizzes import services
from quizzes.models import Question
from tests.support.pages import log_in
from tests.support.quizzes import make_quiz, make_quiz_of_every_kind

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
LAPTOP = {"viewport": {"width": 1366, "height": 768}}


def test_a_teacher_builds_orders_and_previews_questions(live_server_url, browser, screenshots):
    User.objects.create_superuser("teacher", "t@example.com", "a-long-pass")
    quiz = make_quiz(questions=3)
    services.questions_renumber(quiz_id=quiz.pk)
    page = browser.new_context(**LAPTOP).new_page()
    log_in(page, live_server_url, f"/admin/quizzes/quiz/{quiz.pk}/change/")

    # The quiz page: its questions in order, the Start button in sight.
    page.wait_for_selector("#questions-group")
    start = page.locator(".object-tools .start-live")
    assert start.is_visible() and start.bounding_box()["y"] < 768
    # Drag the third question above the first: the numbers follow the rows.
    rows = page.locator("#questions-group tr.is-draggable")
    rows.nth(2).locator("td.field-kind").drag_to(rows.nth(0).locator("td.field-kind"), target_position={"x": 5, "y": 2})
    numbers = page.locator("#questions-group input.question-number")
    assert [numbers.nth(i).input_value() for i in range(3)] == ["1", "2", "3"]
    assert "Question 3?" in rows.nth(0).inner_text()
    screenshots(page, "admin-quiz")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist")
    assert list(quiz.questions.values_list("prompt", flat=True)) == ["Question 3?", "Question 1?", "Question 2?"]

    # A new question: the kind decides which fields show.
    page.click(".object-tools >> text=Add a question")
    page.wait_for_selector("#id_kind")
    assert page.input_value("#id_order") == "4"
    page.select_option("#id_kind", "typed")
    assert page.locator("#choices-group fieldset").is_hidden() and page.locator("#id_accepted_answers").is_visible()
    assert page.locator("#id_typo_tolerance").is_visible()
    page.select_option("#id_kind", "true_false")
    assert page.locator("#choices-group fieldset").is_visible() and page.locator("#id_accepted_answers").is_hidden()
    assert page.input_value("#id_choices-0-text") == "True" and page.input_value("#id_choices-1-text") == "False"
    page.check("#id_choices-0-is_correct")
    page.check("#id_choices-1-is_correct")  # one correct at a time
    assert not page.is_checked("#id_choices-0-is_correct")
    page.fill("#id_prompt", "“Borrow” and “lend” mean the same.")
    page.click("input[name=_continue]")
    page.wait_for_selector(".phone-preview iframe")
    question = Question.objects.get(kind="true_false")
    assert question.order == 4 and list(question.choices.values_list("text", "is_correct")) == [
        ("True", False), ("False", True)]

    # The preview: the players' own stage at a phone's width, without the answer.
    frame = page.frame_locator(".phone-preview iframe")
    frame.locator("#stage button.choice").first.wait_for()
    assert frame.locator("#stage h1.prompt").inner_text() == question.prompt
    assert frame.locator("#stage button.choice").count() == 2
    assert page.locator(".phone-preview iframe").bounding_box()["width"] == pytest.approx(406, abs=1)  # 390 + border
    assert frame.locator("body").evaluate("b => b.clientWidth") == 390
    screenshots(page, "admin-question")

    # The list of quizzes: a Start button on each; it opens the host screen.
    page.goto(f"{live_server_url}/admin/quizzes/quiz/")
    start = page.locator(f"button[formaction='/admin/quizzes/quiz/{quiz.pk}/start/']")
    assert start.is_visible() and start.bounding_box()["y"] < 768
    screenshots(page, "admin-quizzes")
    start.click()
    page.wait_for_selector(".big-code")
    assert page.url.endswith(f"/host/{quiz.sessions.get().code}")


def test_each_kind_shows_its_own_fields_and_a_picture_in_its_preview(live_server_url, browser, screenshots):
    User.objects.create_superuser("teacher", "t@example.com", "a-long-pass")
    quiz = make_quiz_of_every_kind()
    page = browser.new_context(**LAPTOP).new_page()
    typed = quiz.questions.get(kind="typed")
    log_in(page, live_server_url, f"/admin/quizzes/question/{typed.pk}/change/")
    page.wait_for_selector("#id_accepted_answers")
    assert page.locator("#id_typo_tolerance").is_visible() and page.locator("#choices-group fieldset").is_hidden()
    screenshots(page, "admin-question-typed")

    pictured = quiz.questions.get(kind="picture")
    page.goto(f"{live_server_url}/admin/quizzes/question/{pictured.pk}/change/")
    assert page.locator("#id_accepted_answers").is_hidden() and page.locator("#choices-group fieldset").is_visible()
    assert page.locator("#id_typo_tolerance").is_hidden()
    frame = page.frame_locator(".phone-preview iframe")
    frame.locator("#stage button.choice").first.wait_for()
    screenshots(page, "admin-question-picture")
