"""A ready-made B1 English quiz for demos and first runs, with every kind of question.

Words in context, synonyms, opposites, collocations, spelling, listening and word order.
`load_sample_quiz()` creates it once; calling it again returns the existing quiz untouched.
"""

from dataclasses import dataclass, field
from typing import Callable

from django.core.files.base import ContentFile
from django.db import transaction

from quizzes import sample_pictures as pictures
from quizzes.models import Choice, Question, Quiz

SAMPLE_TITLE = "Everyday English (B1)"
SAMPLE_DESCRIPTION = (
    "Word meanings, synonyms, opposites, collocations, spelling, listening and word order "
    "for intermediate (B1) learners of English."
)
Kind = Question.Kind


@dataclass(frozen=True)
class SampleQuestion:
    kind: str
    prompt: str
    choices: tuple[str, ...] = ()
    answer: int = 0  # index into `choices` of the one correct choice
    accepted: tuple[str, ...] = ()  # typed: accepted spellings; order: right sentences
    time_limit_seconds: int = 20
    picture: Callable[[], bytes] | None = None  # shown with the prompt
    choice_pictures: tuple[Callable[[], bytes], ...] = field(default=())


# The correct choice sits in a different position from one question to the next.
SAMPLE_QUESTIONS: list[SampleQuestion] = [
    SampleQuestion(Kind.CHOICE, "What does “reluctant” mean?",
                   ("Very excited", "Unwilling and hesitant", "Extremely tired", "Completely certain"), answer=1),
    SampleQuestion(Kind.LISTEN, "Could you turn the music down, please?",
                   ("Make it quieter.", "Switch it off.", "Make it louder.", "Play another song."), answer=0),
    SampleQuestion(Kind.TYPED, "Type the past tense of “buy”.", accepted=("bought",), time_limit_seconds=25),
    SampleQuestion(Kind.TRUE_FALSE, "“Borrow” and “lend” mean the same thing.", ("True", "False"), answer=1,
                   time_limit_seconds=15),
    SampleQuestion(Kind.ORDER, "Put the words in order.", accepted=("She has lived here since 2010.",),
                   time_limit_seconds=30),
    SampleQuestion(Kind.CHOICE, "Which word is closest in meaning to “enormous”?",
                   ("Tiny", "Narrow", "Ordinary", "Huge"), answer=3, time_limit_seconds=15),
    SampleQuestion(Kind.PICTURE, "What time is it?",
                   ("A quarter past seven", "A quarter to eight", "Half past seven", "A quarter past eight"),
                   answer=1, picture=lambda: pictures.clock(7, 45)),
    SampleQuestion(Kind.CHOICE, "Can you ___ me your pen? I'll give it back in a minute.",
                   ("borrow", "rent", "lend", "owe"), answer=2),
    SampleQuestion(Kind.TYPED, "Type the word: the opposite of “cheap”.", accepted=("expensive",),
                   time_limit_seconds=25),
    SampleQuestion(Kind.LISTEN, "The meeting has been put off until Friday.",
                   ("It was cancelled.", "It will happen later, on Friday.", "It happened last Friday.",
                    "It will start earlier than planned."), answer=1),
    SampleQuestion(Kind.TRUE_FALSE, "You “make” a decision; you don't “do” one.", ("True", "False"), answer=0,
                   time_limit_seconds=15),
    SampleQuestion(Kind.CHOICE, "Complete the phrase: Everyone ___ mistakes sometimes.",
                   ("does", "makes", "takes", "gives"), answer=1),
    SampleQuestion(Kind.PICTURE, "Which picture shows “It's pouring”?",
                   ("Sunny", "Cloudy", "Pouring with rain", "Snowing"), answer=2,
                   choice_pictures=(pictures.sunny, pictures.cloudy, pictures.pouring, pictures.snowy)),
    SampleQuestion(Kind.ORDER, "Put the words in order.", accepted=("I'm looking forward to seeing you.",),
                   time_limit_seconds=30),
    SampleQuestion(Kind.CHOICE, "Which word is the opposite of “generous”?",
                   ("Stingy", "Kind", "Wealthy", "Honest"), answer=0),
    SampleQuestion(Kind.TYPED, "Type the word: you borrow books from a ___.", accepted=("library",),
                   time_limit_seconds=25),
    SampleQuestion(Kind.LISTEN, "I'd rather stay in tonight.",
                   ("I have to go out tonight.", "I stayed at home last night.", "I'd like to go out tonight.",
                    "I prefer to stay at home tonight."), answer=3),
    SampleQuestion(Kind.CHOICE, "Complete the collocation: I need a cup of ___ coffee to wake up.",
                   ("powerful", "strong", "heavy", "hard"), answer=1),
    SampleQuestion(Kind.TRUE_FALSE, "“Actually” means “at the present time”.", ("True", "False"), answer=1,
                   time_limit_seconds=15),
    SampleQuestion(Kind.TYPED, "Type the word: the red, blue or green of something is its ___.",
                   accepted=("colour", "color"), time_limit_seconds=25),
    SampleQuestion(Kind.CHOICE, "If you “give up” smoking, you…",
                   ("start doing it", "do it more often", "do it in secret", "stop doing it"), answer=3),
    SampleQuestion(Kind.ORDER, "Put the words in order.", accepted=("Have you ever been to London?",),
                   time_limit_seconds=30),
    SampleQuestion(Kind.CHOICE, "A “colleague” is…",
                   ("a close relative", "a person you work with", "a next-door neighbour", "a teacher at a college"),
                   answer=1),
]


def load_sample_quiz() -> Quiz:
    """Return the sample quiz, creating it with its questions, choices and pictures if it
    is missing."""
    existing = Quiz.objects.filter(title=SAMPLE_TITLE).order_by("pk").first()
    if existing is not None:
        return existing

    with transaction.atomic():
        quiz = Quiz.objects.create(title=SAMPLE_TITLE, description=SAMPLE_DESCRIPTION, accent=Quiz.Accent.GB)
        for order, sample in enumerate(SAMPLE_QUESTIONS):
            question = Question(quiz=quiz, order=order, kind=sample.kind, prompt=sample.prompt,
                                accepted_answers="\n".join(sample.accepted),
                                time_limit_seconds=sample.time_limit_seconds)
            if sample.picture is not None:
                question.image.save(f"sample-{order + 1}.png", ContentFile(sample.picture()), save=False)
            question.save()
            for index, text in enumerate(sample.choices):
                choice = Choice(question=question, order=index, text=text, is_correct=index == sample.answer)
                if sample.choice_pictures:
                    picture = sample.choice_pictures[index]()
                    choice.image.save(f"sample-{order + 1}-{index + 1}.png", ContentFile(picture), save=False)
                choice.save()
    return quiz
