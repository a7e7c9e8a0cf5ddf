"""Simulated players (`manage.py simulate`, the demo): how each one answers a question.

They answer through the same service as people (quizzes.tasks.bot_answer); here is only
what they decide, drawn from the session's seed so `simulate --seed` repeats itself."""

import random

from django.utils import timezone

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


def bots_plan_round(*, round_id: int) -> list[tuple[int, int, float]]:
    """(participant id, choice id, seconds from now) for each simulated player's answer."""
    round_ = Round.objects.select_related("session", "question").get(pk=round_id)
    choices = list(round_.question.choices.all())
    correct_choice = next(c for c in choices if c.is_correct)
    wrong = [c for c in choices if not c.is_correct]
    remaining = (round_.closes_at - timezone.now()).total_seconds()
    plan = []
    bots = round_.session.participants.filter(is_bot=True).values_list(
        "pk", "nickname", "bot_accuracy", "bot_speed"
    )
    for pk, nickname, accuracy, speed in bots:
        answers, fraction, correct = bot_plan(
            seed=round_.session.bot_seed, nickname=nickname, index=round_.index, accuracy=accuracy, speed=speed
        )
        if not answers:
            continue
        rng = random.Random(f"{round_.session.bot_seed}:{nickname}:{round_.index}:choice")
        choice = correct_choice if correct or not wrong else rng.choice(wrong)
        limit = round_.question.time_limit_seconds
        delay = max(0.0, fraction * limit - (limit - remaining))
        plan.append((pk, choice.pk, delay))
    return plan
