"""The words you missed, on a phone, played with the keyboard alone."""

import pytest

from quizzes import services
from quizzes.models import Participant, Question
from tests.support.pages import tap_when_drawn
from tests.support.quizzes import make_quiz_of_every_kind, open_next_question

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
Kind = Question.Kind
# The answer field has the focus once it is on screen (autofocus): a keyboard user types at once.
TYPING_FIELD_FOCUSED = "() => document.activeElement && document.activeElement.id === 'practice-text'"


def right(question):
    return {"choice_id": question.choices.get(is_correct=True).pk}


def wrong(question):
    return {"choice_id": question.choices.filter(is_correct=False).first().pk}


ANSWERS = {  # missed: true or false (no answer), typed, picture and word order
    Kind.CHOICE: right,
    Kind.TYPED: lambda q: {"text": "buyed"},
    Kind.LISTEN: right,
    Kind.PICTURE: wrong,
    Kind.ORDER: lambda q: {"words": "here She has lived since 2010.".split()},
}


def test_a_player_reviews_the_missed_words_and_practises_them_by_keyboard(live_server_url, browser, screenshots):
    session = services.session_create(quiz=make_quiz_of_every_kind(time_limit=60), auto_advance=False)
    phone = browser.new_context(**PHONE).new_page()
    phone.goto(f"{live_server_url}/?code={session.code}")
    phone.fill("#id_nickname", "Ann")
    phone.keyboard.press("Enter")
    phone.wait_for_selector("text=You're in as")
    ann = Participant.objects.get(session=session, nickname="Ann")
    while (session := open_next_question(session)).state == "open":
        given = ANSWERS.get(session.current_round.question.kind)
        if given is not None:
            question = session.current_round.question
            services.answer_submit(participant_id=ann.pk, session_id=session.pk, **given(question))

    phone.wait_for_selector("text=See the words you missed")
    phone.click("text=See the words you missed")
    phone.wait_for_selector(".missed-list")
    assert "4 questions to look at again" in phone.inner_text("main")
    assert phone.locator(".right-answer").all_inner_texts() == [
        "False", "bought", "A quarter to eight", "She has lived here since 2010."]
    screenshots(phone, "phone-7-missed-words")

    start = phone.locator("text=Practise these 4")
    start.focus()
    phone.keyboard.press("Enter")
    phone.wait_for_selector("text=4 to go")
    # True or false, answered wrong: the right answer shows, and it comes back later.
    phone.locator("button.choice", has_text="True").focus()
    phone.keyboard.press("Enter")
    phone.wait_for_selector("text=Not quite")
    assert "False" in phone.inner_text(".practice-feedback")
    # Typed: type and press Enter.
    phone.wait_for_function(TYPING_FIELD_FOCUSED)
    phone.keyboard.type("bought")
    phone.keyboard.press("Enter")
    phone.wait_for_selector("text=Right!")
    # The picture loads (a person sees it), then its right choice by keyboard.
    picture = phone.locator("img.question-picture")
    picture.wait_for()
    assert phone.evaluate("img => img.complete && img.naturalWidth > 0", picture.element_handle())
    screenshots(phone, "phone-8-practice-picture")
    # The question, its picture and its choices fit the first screen (the list steps aside).
    last_choice = phone.locator("button.choice").last
    bottom = phone.evaluate("el => el.getBoundingClientRect().bottom + window.scrollY", last_choice.element_handle())
    assert bottom <= 844
    phone.locator("button.choice", has_text="A quarter to eight").focus()
    phone.keyboard.press("Enter")
    phone.wait_for_selector("text=2 to go")
    # Word order, typed as a sentence.
    phone.wait_for_function(TYPING_FIELD_FOCUSED)
    phone.keyboard.type("She has lived here since 2010.")
    # The last one, tapped the moment it is drawn: a control works as soon as it shows.
    tap_when_drawn(phone, "#practice button.choice:nth-child(2)")
    phone.keyboard.press("Enter")
    phone.wait_for_selector("text=All done")
    screenshots(phone, "phone-9-practice-done")
