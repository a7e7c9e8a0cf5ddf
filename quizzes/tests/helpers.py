"""Building quizzes for tests the way staff do in the admin, then playing through services."""

from datetime import timedelta

from django.contrib.auth.models import Permission, User

from quizzes import services
from quizzes.models import Choice, Question, Quiz


def make_quiz(*, questions: int = 3, time_limit: int = 20, points: int = 1000, speed_points: bool = True) -> Quiz:
    quiz = Quiz.objects.create(title=f"Test quiz {Quiz.objects.count() + 1}")
    for order in range(questions):
        question = Question.objects.create(
            quiz=quiz, order=order, prompt=f"Question {order + 1}?", time_limit_seconds=time_limit,
            points=points, speed_points=speed_points,
        )
        for n in range(4):
            Choice.objects.create(question=question, order=n, text=f"Choice {order + 1}.{n + 1}", is_correct=n == order % 4)
    return quiz


def correct_choice(session):
    session.refresh_from_db()
    return session.current_round.question.choices.get(is_correct=True)


def wrong_choice(session):
    session.refresh_from_db()
    return session.current_round.question.choices.filter(is_correct=False).first()


def answer_after(session, participant, choice, seconds: float):
    """Submit as if the server received the answer `seconds` after the question opened."""
    session.refresh_from_db()
    return services.answer_submit(
        participant_id=participant.pk,
        session_id=session.pk,
        choice_id=choice.pk,
        received_at=session.current_round.opened_at + timedelta(seconds=seconds),
    )


def make_host(username: str = "teacher", password: str = "a-long-pass") -> User:
    """A staff user allowed to host (quizzes.host_quiz), as an admin would set one up."""
    user = User.objects.create_user(username, password=password, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="host_quiz", content_type__app_label="quizzes"))
    return user
