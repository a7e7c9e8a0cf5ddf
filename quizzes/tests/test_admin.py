import io
import re

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from quizzes import services
from quizzes.models import Answer, Choice, Question, Quiz, QuizSession
from quizzes.sample_pictures import clock
from tests.support.quizzes import answer_after, correct_choice, make_host, make_quiz, open_next_question

pytestmark = pytest.mark.django_db
Kind = Question.Kind


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    return client


@pytest.fixture
def quiz():
    return Quiz.objects.create(title="Food words")


def picture(name="clock.png", *, data=None):
    return SimpleUploadedFile(name, data if data is not None else clock(7, 45), content_type="image/png")


def encoded(image_format: str, size=(40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, format=image_format)
    return buffer.getvalue()


def question_form(quiz, kind="choice", prompt="A synonym of 'big'?", choices=(), accepted="", order="", **extra):
    """The question page's POST: its fields and one row per choice, (text, correct[, picture])."""
    data = {
        "quiz": str(quiz.pk), "order": str(order), "kind": kind, "prompt": prompt, "accepted_answers": accepted,
        "typo_tolerance": "1", "typo_penalty_percent": "25", "ignore_accents": "on", "time_limit_seconds": "20",
        "points": "1000", "speed_points": "on",
        "choices-TOTAL_FORMS": str(len(choices)), "choices-INITIAL_FORMS": "0",
        "choices-MIN_NUM_FORMS": "0", "choices-MAX_NUM_FORMS": "6",
    }
    for n, (text, correct, *image) in enumerate(choices):
        data[f"choices-{n}-text"] = text
        if correct:
            data[f"choices-{n}-is_correct"] = "on"
        if image:
            data[f"choices-{n}-image"] = image[0]
    data.update(extra)
    return data


def errors(response) -> list[str]:
    return re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S)


def add_question(client, quiz, **fields):
    return client.post("/admin/quizzes/question/add/", question_form(quiz, **fields))


def test_a_new_quiz_opens_on_its_page_to_add_questions(staff):
    response = staff.post("/admin/quizzes/quiz/add/", {"title": "Food words", "accent": "en-GB", "description": ""})
    quiz = Quiz.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/admin/quizzes/quiz/{quiz.pk}/change/"
    page = staff.get(response["Location"]).content.decode()
    assert f'href="/admin/quizzes/question/add/?quiz={quiz.pk}"' in page and "now add its questions" in page


def test_the_question_page_has_each_choice_as_a_row_with_its_own_correct_box(staff, quiz):
    page = staff.get(f"/admin/quizzes/question/add/?quiz={quiz.pk}").content.decode()
    for n in range(4):
        assert f'name="choices-{n}-text"' in page and f'name="choices-{n}-is_correct"' in page
        assert f'name="choices-{n}-image"' in page
    assert 'name="order" value="1"' in page
    assert "js/question-editor.js" in page


@pytest.mark.parametrize(
    "fields, saved, choices",
    [
        (dict(kind="choice", choices=[("small", False), ("large", True), ("thin", False)]),
         {}, [("small", False), ("large", True), ("thin", False)]),
        (dict(kind="true_false", prompt="Lend means borrow.", choices=[("True", False), ("False", True)]),
         {}, [("True", False), ("False", True)]),
        (dict(kind="typed", prompt="The colour of the sky?", accepted="blue\nazure\n", typo_tolerance="0",
              typo_penalty_percent="50", ignore_accents=""),
         {"accepted_answers": "blue\nazure", "typo_tolerance": 0, "typo_penalty_percent": 50,
          "ignore_accents": False}, []),
        (dict(kind="listen", prompt="Turn the music down, please.",
              choices=[("Make it quieter.", True), ("Make it louder.", False)]),
         {}, [("Make it quieter.", True), ("Make it louder.", False)]),
        (dict(kind="order", prompt="Put the words in order.",
              accepted="I often drink tea.\nOften I drink tea."),
         {"accepted_answers": "I often drink tea.\nOften I drink tea."}, []),
    ],
    ids=["choice", "true_false", "typed", "listen", "order"],
)
def test_staff_build_each_kind_of_question(staff, quiz, fields, saved, choices):
    response = add_question(staff, quiz, **fields)
    assert response.status_code == 302, errors(response)
    assert response["Location"] == f"/admin/quizzes/quiz/{quiz.pk}/change/"
    question = quiz.questions.get()
    assert question.kind == fields["kind"] and question.order == 1
    for name, value in saved.items():
        assert getattr(question, name) == value
    assert [(c.text, c.is_correct) for c in question.choices.all()] == choices
    assert [c.order for c in question.choices.all()] == list(range(len(choices)))
    assert services.question_problems(question) == []


def test_staff_build_a_picture_question_with_a_picture_on_the_prompt_or_on_every_choice(staff, quiz):
    response = staff.post("/admin/quizzes/question/add/", question_form(
        quiz, kind="picture", prompt="What time is it?", image=picture(),
        choices=[("A quarter to eight", True), ("Half past seven", False)]))
    assert response.status_code == 302, errors(response)
    on_prompt = quiz.questions.get()
    assert on_prompt.image.name.startswith("questions/") and on_prompt.image.width > 0

    response = add_question(staff, quiz, kind="picture", prompt="Which one is sunny?",
                            choices=[("Sunny", True, picture("a.png")), ("Cloudy", False, picture("b.png"))])
    assert response.status_code == 302, errors(response)
    on_choices = quiz.questions.get(prompt="Which one is sunny?")
    assert not on_choices.image and all(c.image.name.startswith("choices/") for c in on_choices.choices.all())
    assert on_choices.order == 2


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(choices=[("yes", True)]), "It needs 2 to 6 choices."),
        (dict(choices=[(f"c{n}", n == 0) for n in range(7)]), "It needs 2 to 6 choices."),
        (dict(choices=[("a", True), ("b", True)]), "It needs exactly one correct choice."),
        (dict(choices=[("a", False), ("b", False)]), "It needs exactly one correct choice."),
        (dict(choices=[("large", True), (" Large ", False)]), "Two choices have the same text."),
        (dict(kind="true_false", choices=[("True", True), ("False", False), ("Maybe", False)]), "It needs 2 choices."),
        (dict(kind="typed", accepted="  \n "), "It needs at least one accepted answer."),
        (dict(kind="typed", accepted="blue", choices=[("blue", True), ("red", False)]),
         "“Type the word” has no choices: delete them."),
        (dict(kind="order", accepted="Hello"), "Its sentence needs two words or more."),
        (dict(kind="order", accepted=""), "It needs the right sentence."),
        (dict(kind="order", accepted="I like tea.\nI like coffee."), "must use the same words as the first"),
        (dict(kind="picture", choices=[("a", True), ("b", False, picture())]),
         "It needs a picture, on the question or on every choice."),
        (dict(kind="picture", choices=[("a", True), ("b", False)], image=picture(data=b"not a picture")),
         "Upload a valid image."),
        (dict(kind="picture", choices=[("a", True), ("b", False)], image=picture("x.bmp", data=encoded("BMP"))),
         "Upload a picture in one of these formats: PNG, JPEG, GIF, WebP."),
        (dict(kind="picture", choices=[("a", True), ("b", False)],
              image=picture("wide.png", data=encoded("PNG", (4001, 2)))),
         "The picture is 4001×2 pixels; the most is 4000 on a side."),
        (dict(kind="picture", choices=[("a", True), ("b", False, picture("x.gif", data=encoded("BMP")))],
              image=picture()),
         "Upload a picture in one of these formats"),
        (dict(prompt="", choices=[("a", True), ("b", False)]), "This field is required."),
    ],
)
def test_a_bad_question_gets_a_clear_error_and_saves_nothing(staff, quiz, fields, message):
    response = add_question(staff, quiz, **{"kind": "choice", **fields})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Please correct the error" in page
    assert message in page, errors(response)
    assert not Question.objects.exists() and not Choice.objects.exists()


def test_a_picture_too_large_to_upload_is_refused(staff, quiz, monkeypatch):
    from quizzes.services import authoring

    monkeypatch.setattr(authoring, "PICTURE_MAX_BYTES", 1024 * 1024)
    big = picture("big.png", data=encoded("PNG", (1, 1)) + b"\0" * 1024 * 1024)
    response = add_question(staff, quiz, kind="picture", image=big, choices=[("a", True), ("b", False)])
    assert response.status_code == 200 and "The picture is 1.0 MB; the most is 1 MB." in response.content.decode()
    assert not Question.objects.exists()


def change_form(question, **fields):
    """The question's change page POST as it is now, with `fields` changed."""
    choices = list(question.choices.all())
    data = question_form(question.quiz, kind=question.kind, prompt=question.prompt, order=question.order,
                         accepted=question.accepted_answers)
    data.update({"choices-TOTAL_FORMS": str(len(choices)), "choices-INITIAL_FORMS": str(len(choices))})
    for n, choice in enumerate(choices):
        data.update({f"choices-{n}-id": str(choice.pk), f"choices-{n}-question": str(question.pk),
                     f"choices-{n}-text": choice.text})
        if choice.is_correct:
            data[f"choices-{n}-is_correct"] = "on"
    data.update(fields)
    return data


def test_editing_a_question_changes_its_choices_in_place(staff):
    question = make_quiz(questions=1).questions.get()
    ids = list(question.choices.values_list("pk", flat=True))
    data = change_form(question, prompt="Edited?", **{
        "choices-0-text": "one", "choices-1-text": "two", "choices-2-text": "three", "choices-3-text": "four",
        "choices-0-is_correct": "", "choices-3-is_correct": "on",
        "choices-TOTAL_FORMS": "5", "choices-4-text": "five",
    })
    response = staff.post(f"/admin/quizzes/question/{question.pk}/change/", data)
    assert response.status_code == 302, errors(response)
    assert list(question.choices.values_list("pk", "text", "is_correct", "order"))[:4] == [
        (ids[0], "one", False, 0), (ids[1], "two", False, 1), (ids[2], "three", False, 2), (ids[3], "four", True, 3),
    ]
    assert question.choices.last().text == "five" and question.choices.count() == 5


def test_a_choice_with_answers_from_past_sessions_cannot_be_removed(staff):
    quiz = make_quiz(questions=1)
    session = services.session_create(quiz=quiz)
    ann = services.participant_join(code=session.code, nickname="ann")
    session = open_next_question(session)
    chosen = correct_choice(session)
    answer_after(session, ann, chosen, 1.0)
    question = quiz.questions.get()
    position = list(question.choices.all()).index(chosen)
    data = change_form(question, **{f"choices-{position}-DELETE": "on", f"choices-{position}-is_correct": "",
                                    f"choices-{(position + 1) % 4}-is_correct": "on"})
    response = staff.post(f"/admin/quizzes/question/{question.pk}/change/", data)
    assert response.status_code == 200
    assert errors(response) == [f"<li>“{chosen.text}” has answers from past sessions and cannot be removed.</li>"]
    assert question.choices.count() == 4


def test_new_questions_are_numbered_after_the_last_and_a_given_number_moves_the_others_down(staff, quiz):
    for prompt in ["First?", "Second?", "Third?"]:
        add_question(staff, quiz, prompt=prompt, choices=[("a", True), ("b", False)])
    assert list(quiz.questions.values_list("prompt", "order")) == [("First?", 1), ("Second?", 2), ("Third?", 3)]
    response = add_question(staff, quiz, prompt="New second?", order=2, choices=[("a", True), ("b", False)])
    assert response.status_code == 302
    assert list(quiz.questions.values_list("prompt", "order")) == [
        ("First?", 1), ("New second?", 2), ("Second?", 3), ("Third?", 4)]


def quiz_change_form(quiz, numbers: dict, deleted=()):
    questions = list(quiz.questions.all())
    data = {"title": quiz.title, "accent": quiz.accent, "description": quiz.description,
            "questions-TOTAL_FORMS": str(len(questions)), "questions-INITIAL_FORMS": str(len(questions)),
            "questions-MIN_NUM_FORMS": "0", "questions-MAX_NUM_FORMS": "1000"}
    for n, question in enumerate(questions):
        data.update({f"questions-{n}-id": str(question.pk), f"questions-{n}-quiz": str(quiz.pk),
                     f"questions-{n}-order": str(numbers.get(question.prompt, question.order))})
        if question.prompt in deleted:
            data[f"questions-{n}-DELETE"] = "on"
    return data


def test_the_quiz_page_lists_its_questions_and_renumbers_them(staff):
    quiz = make_quiz(questions=4)  # saved with numbers 0..3, as older quizzes were
    page = staff.get(f"/admin/quizzes/quiz/{quiz.pk}/change/").content.decode()
    first = quiz.questions.first()
    assert f'href="/admin/quizzes/question/{first.pk}/change/">Question 1?</a>' in page
    assert "Multiple choice" in page and "js/question-order.js" in page
    assert re.findall(r'name="questions-\d-order" value="(\d+)"', page) == ["1", "2", "3", "4"]

    # Question 4 moved to number 1 (typed, or dragged): it goes first, the others follow.
    places = {"Question 1?": 1, "Question 2?": 2, "Question 3?": 3, "Question 4?": 1}
    response = staff.post(f"/admin/quizzes/quiz/{quiz.pk}/change/", quiz_change_form(quiz, places))
    assert response.status_code == 302, errors(response)
    assert list(quiz.questions.values_list("prompt", "order")) == [
        ("Question 4?", 1), ("Question 1?", 2), ("Question 2?", 3), ("Question 3?", 4)]

    # Numbers with gaps and a deleted question: still 1, 2, 3.
    response = staff.post(f"/admin/quizzes/quiz/{quiz.pk}/change/", quiz_change_form(
        quiz, {"Question 4?": 10, "Question 1?": 30, "Question 3?": 20}, deleted=["Question 2?"]))
    assert response.status_code == 302, errors(response)
    assert list(quiz.questions.values_list("prompt", "order")) == [
        ("Question 4?", 1), ("Question 3?", 2), ("Question 1?", 3)]


def test_a_question_s_number_is_its_place_even_in_a_quiz_saved_with_other_numbers(staff):
    quiz = make_quiz(questions=3)  # numbers 0..2
    third = quiz.questions.last()
    page = staff.get(f"/admin/quizzes/question/{third.pk}/change/").content.decode()
    assert 'name="order" value="3"' in page and "Question 3</div>" in page.replace("\n", "")
    response = staff.post(f"/admin/quizzes/question/{third.pk}/change/", change_form(third, order="1"))
    assert response.status_code == 302, errors(response)
    assert list(quiz.questions.values_list("prompt", "order")) == [
        ("Question 3?", 1), ("Question 1?", 2), ("Question 2?", 3)]
    add_page = staff.get(f"/admin/quizzes/question/add/?quiz={quiz.pk}").content.decode()
    assert 'name="order" value="4"' in add_page


def test_the_preview_shows_the_question_as_a_phone_does_without_the_answer(staff):
    quiz = make_quiz(questions=2)
    question = quiz.questions.last()
    page = staff.get(f"/admin/quizzes/question/{question.pk}/change/").content.decode()
    assert f'src="/admin/quizzes/question/{question.pk}/preview/"' in page and 'width="390"' in page

    response = staff.get(f"/admin/quizzes/question/{question.pk}/preview/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="stage"' in html and "Question 2 of 2" in html and question.prompt in html
    assert all(c.text in html for c in question.choices.all())
    assert "The answer" not in html and "ws-connect" not in html
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    assert QuizSession.objects.count() == 0


def test_only_staff_see_a_preview(client):
    question = make_quiz(questions=1).questions.get()
    response = client.get(f"/admin/quizzes/question/{question.pk}/preview/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_the_start_button_opens_a_classroom_session_and_its_host_screen(staff):
    quiz = make_quiz(questions=2)
    listing = staff.get("/admin/quizzes/quiz/").content.decode()
    assert f'formaction="/admin/quizzes/quiz/{quiz.pk}/start/"' in listing
    page = staff.get(f"/admin/quizzes/quiz/{quiz.pk}/change/").content.decode()
    assert f'action="/admin/quizzes/quiz/{quiz.pk}/start/"' in page

    response = staff.post(f"/admin/quizzes/quiz/{quiz.pk}/start/")
    session = QuizSession.objects.get(quiz=quiz)
    assert response.status_code == 302 and response["Location"] == f"/host/{session.code}"
    assert not session.scores_live and not session.auto_advance
    host = staff.get(response["Location"])
    assert host.status_code == 200 and session.code in host.content.decode()
    assert staff.get(f"/admin/quizzes/quiz/{quiz.pk}/start/").status_code == 405


def test_a_quiz_that_cannot_be_played_does_not_start_and_says_why(staff, quiz):
    response = staff.post(f"/admin/quizzes/quiz/{quiz.pk}/start/", follow=True)
    assert "The quiz has no questions." in response.content.decode()
    assert not QuizSession.objects.exists()


def test_staff_who_may_not_host_get_no_start_button(client):
    quiz = make_quiz(questions=1)
    editor = User.objects.create_user("editor", password="pw", is_staff=True)
    editor.user_permissions.add(*Permission.objects.filter(codename__in=["view_quiz", "change_quiz", "view_question"]))
    client.force_login(editor)
    assert "/start/" not in client.get("/admin/quizzes/quiz/").content.decode()
    assert "/start/" not in client.get(f"/admin/quizzes/quiz/{quiz.pk}/change/").content.decode()
    assert client.post(f"/admin/quizzes/quiz/{quiz.pk}/start/").status_code == 403
    assert not QuizSession.objects.exists()
    # Nor may they copy a quiz without the right to add one.
    assert "/duplicate/" not in client.get(f"/admin/quizzes/quiz/{quiz.pk}/change/").content.decode()
    assert client.post(f"/admin/quizzes/quiz/{quiz.pk}/duplicate/").status_code == 403
    assert Quiz.objects.count() == 1


def test_duplicating_a_quiz_copies_its_questions_and_choices_and_shares_its_pictures():
    quiz = make_quiz(questions=2)
    question = quiz.questions.first()
    question.image.save("shared.png", ContentFile(clock(7, 45)))
    typed = Question.objects.create(quiz=quiz, order=5, kind=Kind.TYPED, prompt="Type it", accepted_answers="x")

    copy = services.quiz_duplicate(quiz=quiz)

    assert copy.pk != quiz.pk and copy.title == f"{quiz.title} (copy)" and copy.accent == quiz.accent
    fields = ["order", "kind", "prompt", "image", "accepted_answers", "typo_tolerance", "time_limit_seconds", "points"]
    assert list(copy.questions.values_list(*fields)) == list(quiz.questions.values_list(*fields))
    assert copy.questions.first().image.name == question.image.name
    for original, copied in zip(quiz.questions.all(), copy.questions.all()):
        assert original.pk != copied.pk
        assert list(copied.choices.values_list("text", "is_correct", "order", "image")) == list(
            original.choices.values_list("text", "is_correct", "order", "image"))
    assert quiz.questions.count() == 3 and typed.choices.count() == 0
    assert Choice.objects.count() == 16


def test_staff_duplicate_a_quiz_from_its_page_or_the_list(staff):
    quiz = make_quiz(questions=1)
    response = staff.post(f"/admin/quizzes/quiz/{quiz.pk}/duplicate/")
    copy = Quiz.objects.exclude(pk=quiz.pk).get()
    assert response["Location"] == f"/admin/quizzes/quiz/{copy.pk}/change/" and copy.questions.count() == 1
    staff.post("/admin/quizzes/quiz/", {"action": "duplicate_quizzes", "_selected_action": [quiz.pk]})
    assert Quiz.objects.count() == 3


def test_players_answers_are_shown_read_only(staff):
    quiz = make_quiz(questions=1)
    session = services.session_create(quiz=quiz)
    ann = services.participant_join(code=session.code, nickname="ann")
    session = open_next_question(session)
    answer_after(session, ann, correct_choice(session), 2.5)
    answer = Answer.objects.get()

    listing = staff.get(f"/admin/quizzes/answer/?round__session__code={session.code}").content.decode()
    assert "ann" in listing and "1. Question 1?" in listing and "Choice 1.1" in listing and "2.5 s" in listing
    assert "/admin/quizzes/answer/add/" not in listing
    detail = staff.get(f"/admin/quizzes/answer/{answer.pk}/change/").content.decode()
    assert "Choice 1.1" in detail and 'name="_save"' not in detail
    assert staff.post(f"/admin/quizzes/answer/{answer.pk}/change/", {"points": "9999"}).status_code == 403
    assert staff.post(f"/admin/quizzes/answer/{answer.pk}/delete/", {"post": "yes"}).status_code == 403
    assert staff.get("/admin/quizzes/answer/add/").status_code == 403
    assert Answer.objects.get().points == answer.points

    player = staff.get(f"/admin/quizzes/participant/{ann.pk}/change/").content.decode()
    assert "Choice 1.1" in player and "2.5 s" in player
    sessions = staff.get("/admin/quizzes/quizsession/").content.decode()
    assert f"/admin/quizzes/answer/?round__session__code={session.code}" in sessions


def test_sessions_are_listed_with_code_state_and_player_count(staff):
    session = services.session_create(quiz=make_quiz(questions=1))
    services.participant_join(code=session.code, nickname="ann")
    page = staff.get("/admin/quizzes/quizsession/").content.decode()
    assert session.code in page and "Lobby" in page
    assert '<td class="field-player_count">1</td>' in page


def test_the_host_screen_needs_a_staff_login(client):
    session = services.session_create(quiz=make_quiz(questions=1))
    assert client.get(f"/host/{session.code}").status_code == 302
    assert client.post(f"/host/{session.code}/next").status_code in (302, 403)
    session.refresh_from_db()
    assert session.state == "lobby"


def test_a_host_may_start_a_session_from_the_list(client):
    quiz = make_quiz(questions=1)
    host = make_host("host")
    host.user_permissions.add(Permission.objects.get(codename="view_quiz"))
    client.force_login(host)
    assert f"/admin/quizzes/quiz/{quiz.pk}/start/" in client.get("/admin/quizzes/quiz/").content.decode()
    response = client.post(f"/admin/quizzes/quiz/{quiz.pk}/start/")
    session = QuizSession.objects.get()
    assert response["Location"] == f"/host/{session.code}" and session.host == host


def test_staff_who_may_edit_questions_edit_their_choices_with_the_same_checks(client, quiz):
    teacher = User.objects.create_user("teacher", password="pw", is_staff=True)
    teacher.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_quiz", "add_question", "change_question", "view_question"]))
    client.force_login(teacher)
    assert 'name="choices-0-is_correct"' in client.get(f"/admin/quizzes/question/add/?quiz={quiz.pk}").content.decode()
    response = add_question(client, quiz, choices=[("only one", True)])
    assert response.status_code == 200 and "It needs 2 to 6 choices." in response.content.decode()
    assert not Question.objects.exists()
    response = add_question(client, quiz, choices=[("small", False), ("large", True)])
    assert response.status_code == 302, errors(response)
    assert Choice.objects.count() == 2
