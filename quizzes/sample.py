"""A ready-made English vocabulary quiz for demos and first runs.

`load_sample_quiz()` creates it once; calling it again returns the existing quiz untouched.
"""

from dataclasses import dataclass

from django.db import transaction

from quizzes.models import Choice, Question, Quiz

SAMPLE_TITLE = "Everyday English Vocabulary"
SAMPLE_DESCRIPTION = (
    "Word meanings, synonyms, opposites, gap-fills and collocations "
    "for intermediate (B1-B2) learners of English."
)


@dataclass(frozen=True)
class SampleQuestion:
    prompt: str
    choices: tuple[str, ...]
    answer: int  # index into `choices` of the one correct choice
    time_limit_seconds: int = 20


# The correct choice sits in a different position from one question to the next.
SAMPLE_QUESTIONS: list[SampleQuestion] = [
    SampleQuestion(
        "What does “reluctant” mean?",
        ("Very excited", "Unwilling and hesitant", "Extremely tired", "Completely certain"),
        answer=1,
    ),
    SampleQuestion(
        "Which word is closest in meaning to “enormous”?",
        ("Tiny", "Narrow", "Ordinary", "Huge"),
        answer=3,
        time_limit_seconds=15,
    ),
    SampleQuestion(
        "Which word is the opposite of “generous”?",
        ("Stingy", "Kind", "Wealthy", "Honest"),
        answer=0,
    ),
    SampleQuestion(
        "Can you ___ me your pen? I'll give it back in a minute.",
        ("borrow", "rent", "lend", "owe"),
        answer=2,
    ),
    SampleQuestion(
        "Complete the phrase: Everyone ___ mistakes sometimes.",
        ("does", "makes", "takes", "gives"),
        answer=1,
    ),
    SampleQuestion(
        "If a shop is “crowded”, it is…",
        ("closed for the day", "very expensive", "newly opened", "full of people"),
        answer=3,
    ),
    SampleQuestion(
        "Which word is the opposite of “ancient”?",
        ("Modern", "Historic", "Antique", "Old"),
        answer=0,
        time_limit_seconds=15,
    ),
    SampleQuestion(
        "The train was ___ because of the snow, so we arrived an hour late.",
        ("punctual", "delayed", "empty", "reserved"),
        answer=1,
        time_limit_seconds=30,
    ),
    SampleQuestion(
        "Which word is closest in meaning to “purchase”?",
        ("Sell", "Borrow", "Buy", "Return"),
        answer=2,
        time_limit_seconds=15,
    ),
    SampleQuestion(
        "If you “give up” smoking, you…",
        ("start doing it", "do it more often", "do it in secret", "stop doing it"),
        answer=3,
    ),
    SampleQuestion(
        "Complete the collocation: I need a cup of ___ coffee to wake up.",
        ("powerful", "strong", "heavy", "hard"),
        answer=1,
    ),
    SampleQuestion(
        "What does “exhausted” mean?",
        ("Extremely tired", "Very hungry", "Slightly bored", "Quite angry"),
        answer=0,
    ),
    SampleQuestion(
        "Which word is the opposite of “permanent”?",
        ("Stable", "Lasting", "Temporary", "Constant"),
        answer=2,
    ),
    SampleQuestion(
        "A “colleague” is…",
        (
            "a close relative",
            "a teacher at a college",
            "a next-door neighbour",
            "a person you work with",
        ),
        answer=3,
    ),
    SampleQuestion(
        "She always ___ her promises, so you can trust her.",
        ("holds", "keeps", "saves", "stays"),
        answer=1,
    ),
    SampleQuestion(
        "I can't ___ this noise any longer. I'm moving out!",
        ("stand", "carry", "hold", "keep"),
        answer=0,
        time_limit_seconds=30,
    ),
    SampleQuestion(
        "If something is “affordable”, it is…",
        (
            "very high quality",
            "cheap enough for people to buy",
            "available only online",
            "easy to carry",
        ),
        answer=1,
    ),
]


def load_sample_quiz() -> Quiz:
    """Return the sample quiz, creating it with its questions and choices if it is missing."""
    existing = Quiz.objects.filter(title=SAMPLE_TITLE).order_by("pk").first()
    if existing is not None:
        return existing

    with transaction.atomic():
        quiz = Quiz.objects.create(title=SAMPLE_TITLE, description=SAMPLE_DESCRIPTION)
        for order, sample in enumerate(SAMPLE_QUESTIONS):
            question = Question.objects.create(
                quiz=quiz,
                order=order,
                prompt=sample.prompt,
                time_limit_seconds=sample.time_limit_seconds,
            )
            Choice.objects.bulk_create(
                Choice(
                    question=question,
                    order=index,
                    text=text,
                    is_correct=index == sample.answer,
                )
                for index, text in enumerate(sample.choices)
            )
    return quiz
