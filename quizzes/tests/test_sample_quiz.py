import io
import re

import pytest
from django.core.management import call_command

from quizzes import services
from quizzes.models import Choice, Question, Quiz
from quizzes.sample import SAMPLE_TITLE, load_sample_quiz

pytestmark = pytest.mark.django_db


def test_sample_quiz_has_twenty_questions_of_every_kind_in_order():
    quiz = load_sample_quiz()

    assert quiz.title == SAMPLE_TITLE
    orders = list(quiz.questions.order_by("order").values_list("order", flat=True))
    assert len(orders) >= 20
    assert orders == list(range(len(orders)))
    assert set(quiz.questions.values_list("kind", flat=True)) == set(Question.Kind.values)


def test_every_question_can_be_asked_and_choices_are_not_always_in_one_place():
    quiz = load_sample_quiz()

    assert services.quiz_problems(quiz) == []
    correct_positions = set()
    for question in quiz.questions.exclude(kind__in=[Question.Kind.TYPED, Question.Kind.ORDER]):
        choices = list(question.choices.order_by("order"))
        assert [c.order for c in choices] == list(range(len(choices)))
        correct_positions.add(next(c.order for c in choices if c.is_correct))
        texts = [c.text.casefold() for c in choices]
        assert len(set(texts)) == len(texts), question.prompt
    assert len(correct_positions) > 1, "the correct answer is always in the same place"


def test_the_sample_pictures_are_real_images():
    from PIL import Image

    quiz = load_sample_quiz()
    pictures = [q.image for q in quiz.questions.exclude(image="")]
    pictures += [c.image for c in Choice.objects.filter(question__quiz=quiz).exclude(image="")]
    assert len(pictures) == 5
    for picture in pictures:
        with picture.open("rb") as file, Image.open(file) as image:
            assert image.format == "PNG" and image.size == (480, 480)


def test_sample_fits_the_model_fields_and_validators():
    quiz = load_sample_quiz()
    prompt_max = Question._meta.get_field("prompt").max_length
    text_max = Choice._meta.get_field("text").max_length

    for question in quiz.questions.all():
        assert 0 < len(question.prompt) <= prompt_max
        assert 5 <= question.time_limit_seconds <= 240
        question.full_clean()
        for choice in question.choices.all():
            assert 0 < len(choice.text) <= text_max
            choice.full_clean()
    quiz.full_clean()


def test_loading_twice_creates_one_quiz():
    first = load_sample_quiz()
    questions = Question.objects.filter(quiz=first).count()
    choices = Choice.objects.filter(question__quiz=first).count()

    second = load_sample_quiz()

    assert second.pk == first.pk
    assert Quiz.objects.filter(title=SAMPLE_TITLE).count() == 1
    assert Question.objects.filter(quiz=first).count() == questions
    assert Choice.objects.filter(question__quiz=first).count() == choices


def test_command_prints_the_ready_line():
    out = io.StringIO()

    call_command("load_sample_quiz", stdout=out)

    quiz = Quiz.objects.get(title=SAMPLE_TITLE)
    count = quiz.questions.count()
    expected = f'Sample quiz "{SAMPLE_TITLE}" ready: {count} questions (id {quiz.pk}).'
    assert expected in out.getvalue()
    assert re.search(r"ready: \d+ questions \(id \d+\)\.", out.getvalue())


def test_command_twice_keeps_one_quiz():
    call_command("load_sample_quiz", stdout=io.StringIO())
    call_command("load_sample_quiz", stdout=io.StringIO())

    assert Quiz.objects.filter(title=SAMPLE_TITLE).count() == 1
