import pytest
from django.contrib.auth.models import User

from quizzes.models import Choice, Question, Quiz, QuizSession
from tests.support.quizzes import make_quiz

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    return client


def quiz_form(*questions):
    data = {
        "title": "Food words",
        "accent": "en-US",
        "description": "",
        "questions-TOTAL_FORMS": str(len(questions)),
        "questions-INITIAL_FORMS": "0",
        "questions-MIN_NUM_FORMS": "0",
        "questions-MAX_NUM_FORMS": "1000",
    }
    for i, (prompt, choices, correct) in enumerate(questions):
        data.update({
            f"questions-{i}-order": str(i),
            f"questions-{i}-prompt": prompt,
            f"questions-{i}-time_limit_seconds": "20",
            f"questions-{i}-points": "1000",
            f"questions-{i}-speed_points": "on",
            f"questions-{i}-correct": str(correct),
        })
        for n, text in enumerate(choices, start=1):
            data[f"questions-{i}-choice_{n}"] = text
    return data


def test_staff_create_a_quiz_with_questions_and_choices_on_one_page(staff):
    response = staff.post("/admin/quizzes/quiz/add/", quiz_form(
        ("A synonym of 'big'?", ["small", "large", "thin"], 2),
        ("The opposite of 'hot'?", ["cold", "warm"], 1),
    ))
    assert response.status_code == 302, response.content.decode()[:2000]
    quiz = Quiz.objects.get(title="Food words")
    assert [q.prompt for q in quiz.questions.all()] == ["A synonym of 'big'?", "The opposite of 'hot'?"]
    first = quiz.questions.first()
    assert [(c.text, c.is_correct) for c in first.choices.all()] == [("small", False), ("large", True), ("thin", False)]


@pytest.mark.parametrize(
    "question, message",
    [
        (("Only one choice?", ["yes"], 1), "at least 2 choices"),
        (("Correct is empty?", ["a", "b"], 4), "must be one of the filled choices"),
        (("Same twice?", ["a", "A"], 1), "same text"),
    ],
)
def test_an_invalid_question_shows_an_error_and_saves_nothing(staff, question, message):
    response = staff.post("/admin/quizzes/quiz/add/", quiz_form(question))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Quiz.objects.exists() and not Question.objects.exists() and not Choice.objects.exists()


def test_editing_a_question_changes_its_choices_in_place(staff):
    quiz = make_quiz(questions=1)
    question = quiz.questions.get()
    ids = list(question.choices.values_list("pk", flat=True))
    data = quiz_form(("Edited?", ["one", "two", "three", "four"], 4))
    data.update({"title": quiz.title, "questions-INITIAL_FORMS": "1", "questions-0-id": str(question.pk),
                 "questions-0-quiz": str(quiz.pk)})
    response = staff.post(f"/admin/quizzes/quiz/{quiz.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(question.choices.values_list("pk", "text", "is_correct")) == [
        (ids[0], "one", False), (ids[1], "two", False), (ids[2], "three", False), (ids[3], "four", True),
    ]


def test_the_start_action_opens_a_live_session_and_its_host_screen(staff):
    quiz = make_quiz(questions=2)
    response = staff.post("/admin/quizzes/quiz/", {"action": "start_live_session", "_selected_action": [quiz.pk]})
    session = QuizSession.objects.get(quiz=quiz)
    assert response.status_code == 302 and response["Location"] == f"/host/{session.code}"
    host = staff.get(response["Location"])
    assert host.status_code == 200 and session.code in host.content.decode()


def test_sessions_are_listed_with_code_state_and_player_count(staff):
    from quizzes import services

    session = services.session_create(quiz=make_quiz(questions=1))
    services.participant_join(code=session.code, nickname="ann")
    page = staff.get("/admin/quizzes/quizsession/").content.decode()
    assert session.code in page and "Lobby" in page
    assert '<td class="field-player_count">1</td>' in page


def test_the_host_screen_needs_a_staff_login(client):
    from quizzes import services

    session = services.session_create(quiz=make_quiz(questions=1))
    assert client.get(f"/host/{session.code}").status_code == 302
    assert client.post(f"/host/{session.code}/next").status_code in (302, 403)
    session.refresh_from_db()
    assert session.state == "lobby"
