"""Building quizzes: what each kind of question needs, pictures staff may upload, the
questions' numbers, and copying a quiz. The admin checks drafts with these rules before it
saves anything; a session refuses to start on a quiz that breaks them (sessions.py)."""

from collections.abc import Collection, Iterable, Mapping
from typing import NamedTuple

from django.db import transaction

from .. import rules
from ..models import MAX_CHOICES, MIN_CHOICES, Answer, Choice, Question, Quiz

Kind = Question.Kind
CHOICE_KINDS = frozenset({Kind.CHOICE, Kind.TRUE_FALSE, Kind.LISTEN, Kind.PICTURE})
TEXT_KINDS = frozenset({Kind.TYPED, Kind.ORDER})

# Pictures: formats every phone browser shows, small enough for thirty phones on a school's
# Wi-Fi, and no larger than a screen can use (a huge image is also a decompression bomb).
PICTURE_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "GIF": "GIF", "WEBP": "WebP"}
PICTURE_MAX_BYTES = 2 * 1024 * 1024
PICTURE_MAX_SIDE = 4000


class Problem(NamedTuple):
    """Why a question cannot be asked; `field` names the question's field at fault, or
    None for the question as a whole (its choices)."""

    field: str | None
    message: str


def question_problems(question: Question, choices: Iterable[Choice] | None = None) -> list[str]:
    """What a question lacks to be asked, by its kind: its saved choices, or `choices`
    (unsaved drafts) in their place."""
    return [problem.message for problem in draft_problems(question, choices)]


def draft_problems(question: Question, choices: Iterable[Choice] | None = None) -> list[Problem]:
    """question_problems, each with the field it concerns."""
    drafts = list(question.choices.all() if choices is None else choices)
    if question.kind in CHOICE_KINDS:
        return _choice_problems(question, drafts)
    problems = []
    if drafts:
        problems.append(Problem(None, f"“{question.get_kind_display()}” has no choices: delete them."))
    sentences = rules.lines(question.accepted_answers)
    if not sentences:
        problems.append(Problem("accepted_answers", "it needs at least one accepted answer."
                                if question.kind == Kind.TYPED else "it needs the right sentence."))
    elif question.kind == Kind.ORDER:
        tiles = rules.sentence_words(sentences[0])
        if len(tiles) < 2:
            problems.append(Problem("accepted_answers", "its sentence needs two words or more."))
        elif any(sorted(w.casefold() for w in rules.sentence_words(s)) != sorted(w.casefold() for w in tiles)
                 for s in sentences[1:]):
            problems.append(Problem("accepted_answers",
                                    "every right sentence must use the same words as the first (its words are the "
                                    "tiles)."))
    return problems


def _choice_problems(question: Question, choices: list[Choice]) -> list[Problem]:
    problems = []
    wanted = (2, 2) if question.kind == Kind.TRUE_FALSE else (MIN_CHOICES, MAX_CHOICES)
    if not wanted[0] <= len(choices) <= wanted[1]:
        problems.append(Problem(None, "it needs 2 choices." if wanted[0] == wanted[1]
                                else f"it needs {MIN_CHOICES} to {MAX_CHOICES} choices."))
    if sum(c.is_correct for c in choices) != 1:
        problems.append(Problem(None, "it needs exactly one correct choice."))
    texts = [" ".join(c.text.casefold().split()) for c in choices]
    if len(set(texts)) != len(texts):
        problems.append(Problem(None, "two choices have the same text."))
    if question.kind == Kind.PICTURE and not (question.image or (choices and all(c.image for c in choices))):
        problems.append(Problem("image", "it needs a picture, on the question or on every choice."))
    return problems


def choice_removal_problem(choice: Choice) -> str | None:
    """Why a choice may not be deleted: players chose it in past sessions."""
    if choice.pk and Answer.objects.filter(choice=choice).exists():
        return f"“{choice.text}” has answers from past sessions and cannot be removed."
    return None


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
