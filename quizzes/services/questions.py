"""A question's rules, by its kind, and the one way to replace its choices. The admin's
question editor, the question banks (quizzes/banks.py) and the session's start all ask
these, so a question that one of them accepts the others accept too."""

from dataclasses import dataclass

from django.db import transaction

from .. import rules
from ..errors import QuizError
from ..models import MAX_CHOICES, MIN_CHOICES, Answer, Choice, Question

Kind = Question.Kind
CHOICE_KINDS = {Kind.CHOICE, Kind.TRUE_FALSE, Kind.LISTEN, Kind.PICTURE}


def question_problems_by_field(question: Question, *, choices: list[Choice] | None = None) -> dict[str, list[str]]:
    """What a question lacks to be asked, by its kind, keyed by the field at fault:
    "choices", "correct", "image" or "accepted_answers". Its saved choices, or `choices`
    (an editor's or a file's, before they are saved)."""
    problems: dict[str, list[str]] = {}
    if question.kind in CHOICE_KINDS:
        choices = list(question.choices.all()) if choices is None else choices
        wanted = (2, 2) if question.kind == Kind.TRUE_FALSE else (MIN_CHOICES, MAX_CHOICES)
        if not wanted[0] <= len(choices) <= wanted[1]:
            problems["choices"] = ["it needs 2 choices." if wanted[0] == wanted[1] else "it needs 2 to 6 choices."]
        if sum(c.is_correct for c in choices) != 1:
            problems["correct"] = ["it needs exactly one correct choice."]
        if question.kind == Kind.PICTURE and not (question.image or all(c.image for c in choices)):
            problems["image"] = ["it needs a picture, on the question or on every choice."]
        return problems
    if choices is None:
        choices = list(question.choices.all()) if question.pk else []
    if choices:
        problems["choices"] = [f"“{question.get_kind_display()}” has no choices: delete them."]
    sentences = rules.lines(question.accepted_answers)
    if not sentences:
        problems["accepted_answers"] = ["it needs at least one accepted answer." if question.kind == Kind.TYPED
                                        else "it needs the right sentence."]
    elif question.kind == Kind.ORDER:
        if len(rules.sentence_words(sentences[0])) < 2:
            problems["accepted_answers"] = ["its sentence needs two words or more."]
        elif any(_bare_words(s) != _bare_words(sentences[0]) for s in sentences[1:]):
            # The phone deals the first sentence's words as tiles: a sentence of other
            # words could never be made (punctuation aside).
            problems["accepted_answers"] = ["every right sentence must use the same words as the first."]
    return problems


def _bare_words(sentence: str) -> list[str]:
    return sorted(rules.bare_words(rules.sentence_words(sentence)))


def question_problems(question: Question) -> list[str]:
    """What a question lacks to be asked, by its kind."""
    return [problem for found in question_problems_by_field(question).values() for problem in found]


@dataclass(frozen=True)
class ChoiceSpec:
    """A choice as an editor or a file gives it: its text, whether it is the right one, and
    the storage name of its picture ("" for none)."""

    text: str
    is_correct: bool = False
    image: str = ""


def choice_texts_problems(texts: list[str]) -> list[str]:
    """The choices' texts in order, "" for a blank slot: filled in order, no two alike."""
    filled = [t for t in texts if t]
    problems = []
    if any(not t for t in texts[: len(filled)]):
        problems.append("Fill the choices in order, without gaps.")
    if len({t.casefold() for t in filled}) != len(filled):
        problems.append("Two choices have the same text.")
    if len(filled) > MAX_CHOICES:
        problems.append(f"A question has at most {MAX_CHOICES} choices.")
    return problems


def choice_removal_problem(choice: Choice) -> str | None:
    """Why a choice may not be deleted: a past session's answers chose it."""
    if choice.pk and Answer.objects.filter(choice=choice).exists():
        return f"“{choice.text}” has answers from past sessions and cannot be removed."
    return None


def question_choices_set(*, question: Question, choices: list[ChoiceSpec]) -> None:
    """Make the question's choices these, in this order: existing choices are kept by
    position (a past answer keeps pointing at its choice), extra ones are removed, unless
    a past session's answers chose them."""
    with transaction.atomic():
        existing = list(question.choices.all())
        for order, spec in enumerate(choices):
            choice = existing[order] if order < len(existing) else Choice(question=question)
            choice.order, choice.text, choice.is_correct = order, spec.text, spec.is_correct
            choice.image.name = spec.image or ""
            choice.save()
        for choice in existing[len(choices):]:
            problem = choice_removal_problem(choice)
            if problem:
                raise QuizError(problem, code="answered_choice")
            choice.delete()
