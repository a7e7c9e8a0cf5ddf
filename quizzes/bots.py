"""Simulated players (`manage.py simulate`, the demo): how each one answers a question.

They answer through the same service as people (quizzes.tasks.bot_answer); here is only
what they decide, drawn from the session's seed so `simulate --seed` repeats itself."""

import random

from django.utils import timezone

from . import rules
from .models import Round


def bot_plan(*, seed: int | None, nickname: str, index: int, accuracy: float, speed: float) -> tuple[bool, float, bool]:
    """How a simulated player answers round `index`: (answers at all, delay fraction, correct).

    Drawn from (seed, nickname, round) alone, so `simulate --seed` repeats its choices.
    """
    rng = random.Random(f"{seed}:{nickname}:{index}") if seed is not None else random.Random()
    answers = rng.random() < 0.97
    delay_fraction = 0.05 + 0.85 * (1 - speed) * rng.random() + 0.05 * rng.random()
    correct = rng.random() < accuracy
    return answers, min(delay_fraction, 0.95), correct


def bots_plan_round(*, round_id: int) -> list[tuple[int, dict, float]]:
    """(participant id, answer, seconds from now) for each simulated player's answer. The
    answer is what a phone sends: {"choice_id": id}, {"text": "..."} or {"words": [...]}."""
    round_ = Round.objects.select_related("session", "question").get(pk=round_id)
    question = round_.question
    choices = list(question.choices.all())
    remaining = (round_.closes_at - timezone.now()).total_seconds()
    limit = question.time_limit_seconds + round_.speech_seconds
    plan = []
    bots = round_.session.participants.filter(is_bot=True, kicked_at__isnull=True).values_list(
        "pk", "nickname", "bot_accuracy", "bot_speed"
    )
    for pk, nickname, accuracy, speed in bots:
        answers, fraction, correct = bot_plan(
            seed=round_.session.bot_seed, nickname=nickname, index=round_.index, accuracy=accuracy, speed=speed
        )
        if not answers:
            continue
        rng = random.Random(f"{round_.session.bot_seed}:{nickname}:{round_.index}:choice")
        delay = max(0.0, round_.speech_seconds + fraction * question.time_limit_seconds - (limit - remaining))
        plan.append((pk, planned_answer(question.kind, choices, question.accepted_answers, round_.words, correct, rng),
                     delay))
    return plan


def planned_answer(
    kind: str, choices: list, accepted: str, words: list[str], correct: bool, rng: random.Random
) -> dict:
    """A simulated player's answer to a question of `kind`, right or wrong as planned."""
    if kind == "typed":
        spelling = rng.choice(rules.lines(accepted))
        if correct:
            return {"text": _slip(spelling, rng) if len(spelling) >= rules.TYPO_MIN_LETTERS and rng.random() < 0.2
                    else spelling}
        return {"text": rng.choice(["I don't know", spelling[::-1], spelling[:2] + "xyz"])}
    if kind == "order":
        right = rules.sentence_words(rules.lines(accepted)[0])
        if correct:
            return {"words": right}
        dealt = list(words) or list(right)
        while dealt == right:
            rng.shuffle(dealt)
        return {"words": dealt}
    right_choice = next(c for c in choices if c.is_correct)
    wrong = [c for c in choices if not c.is_correct]
    return {"choice_id": (right_choice if correct or not wrong else rng.choice(wrong)).pk}


def _slip(word: str, rng: random.Random) -> str:
    """The word with two neighbouring letters swapped: the slip a typo tolerance forgives."""
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]
