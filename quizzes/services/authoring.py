"""Building quizzes in the admin: pictures staff may upload, the questions' numbers, and
copying a quiz. What each kind of question needs is in questions.py."""

from collections.abc import Collection, Mapping

from django.db import transaction

from ..models import Choice, Question, Quiz

# Pictures: formats every phone browser shows, small enough for thirty phones on a school's
# Wi-Fi, and no larger than a screen can use (a huge image is also a decompression bomb).
PICTURE_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "GIF": "GIF", "WEBP": "WebP"}
PICTURE_MAX_BYTES = 2 * 1024 * 1024
PICTURE_MAX_SIDE = 4000


def picture_problems(upload) -> list[str]:
    """What is wrong with an uploaded picture. `upload` has been opened by Django's
    ImageField form field, which sets `.image` (Pillow's, already verified) on it."""
    problems = []
    image = getattr(upload, "image", None)
    if image is None or image.format not in PICTURE_FORMATS:
        problems.append(f"Upload a picture in one of these formats: {', '.join(PICTURE_FORMATS.values())}.")
    if upload.size > PICTURE_MAX_BYTES:
        problems.append(f"The picture is {upload.size / 1024 / 1024:.1f} MB; "
                        f"the most is {PICTURE_MAX_BYTES // 1024 // 1024} MB.")
    if image is not None and max(image.size) > PICTURE_MAX_SIDE:
        problems.append(f"The picture is {image.size[0]}×{image.size[1]} pixels; "
                        f"the most is {PICTURE_MAX_SIDE} on a side.")
    return problems


def question_next_number(*, quiz_id: int) -> int:
    """The number a new question of the quiz takes: after the last."""
    return Question.objects.filter(quiz_id=quiz_id).count() + 1


def questions_renumber(*, quiz_id: int, numbers: Mapping[int, int] | None = None, moved: Collection[int] = ()) -> None:
    """Number the quiz's questions 1, 2, 3… Each keeps its place, unless `numbers` gives
    it a new one (question id: number). A question just given its number (`moved`) goes
    before another with the same: moving question 5 to 2 puts it second, the old second third."""
    numbers = numbers or {}
    with transaction.atomic():
        questions = list(Question.objects.select_for_update().filter(quiz_id=quiz_id).order_by("order", "pk"))
        wanted = {q.pk: numbers.get(q.pk, place) for place, q in enumerate(questions, start=1)}
        questions.sort(key=lambda q: (wanted[q.pk], q.pk not in moved, q.pk))
        changed = []
        for number, question in enumerate(questions, start=1):
            if question.order != number:
                question.order = number
                changed.append(question)
        Question.objects.bulk_update(changed, ["order"])


def question_place(question: Question) -> int:
    """The question's number as the quiz asks it: its place, counted from 1."""
    return list(Question.objects.filter(quiz_id=question.quiz_id).values_list("pk", flat=True)).index(question.pk) + 1


def quiz_duplicate(*, quiz: Quiz) -> Quiz:
    """A copy of the quiz with all its questions and choices, titled "… (copy)". Pictures
    are shared with the original (the same stored files), not uploaded again."""
    suffix = " (copy)"
    title = quiz.title[: Quiz._meta.get_field("title").max_length - len(suffix)] + suffix  # type: ignore[operator]
    with transaction.atomic():
        copy = Quiz.objects.create(title=title, description=quiz.description, accent=quiz.accent)
        for question in quiz.questions.prefetch_related("choices"):
            choices = list(question.choices.all())
            question.pk = None
            question._state.adding = True
            question.quiz = copy
            question.save()
            for choice in choices:
                choice.pk = None
                choice._state.adding = True
                choice.question = question
            Choice.objects.bulk_create(choices)
    return copy
