"""The every-kind scenario: one question of each kind from the sample quiz, answered by
simulated players through the real worker, as `manage.py simulate` does."""

import asyncio
import time

from .harness import Harness


async def kinds(h: Harness, players: int) -> dict:
    """One question of every kind from the sample quiz (choice, true/false, typed, listen,
    picture, word order), answered by simulated players through the real worker: every
    kind is answered, scored and exact."""
    session_id = await asyncio.to_thread(every_kind_session, players)
    start = await h.mark()
    await asyncio.to_thread(play_to_the_end, session_id, 120.0)
    await h.wait_scored([session_id], expected=await asyncio.to_thread(answer_count, session_id))
    end = await h.mark()
    by_kind, problems = await asyncio.to_thread(kinds_outcome, session_id)
    answered = sum(n for n, _ in by_kind.values())
    return {"players": players, "answers": answered, "by_kind": by_kind, "audit_problems": problems,
            "exact": not problems and len(by_kind) == KINDS and all(n == s for n, s in by_kind.values()),
            "cost": h.cost(start, end, web=[h.stack.web.name], per={"answers": answered})}


KINDS = 6


def every_kind_session(players: int) -> int:
    """A session of the first sample question of each kind, 3 s each, with `players`
    simulated players; started."""
    from quizzes import services
    from quizzes.models import Choice, Question, Quiz
    from quizzes.sample import load_sample_quiz

    sample = load_sample_quiz()
    quiz = Quiz.objects.create(title=f"Every kind ({time.time_ns()})", accent=sample.accent)
    seen = set()
    for question in sample.questions.order_by("order").prefetch_related("choices"):
        if question.kind in seen:
            continue
        seen.add(question.kind)
        choices = list(question.choices.all())
        question.pk, question.quiz, question.order, question.time_limit_seconds = None, quiz, len(seen), 3
        question.save()
        Choice.objects.bulk_create([Choice(question=question, order=c.order, text=c.text, image=c.image.name,
                                           is_correct=c.is_correct) for c in choices])
    assert len(seen) == KINDS == len(Question.Kind.choices), seen
    session = services.session_create(quiz=quiz, bot_seed=1, scores_live=True, auto_advance=True)
    for n in range(players):
        services.participant_join(code=session.code, nickname=f"Bot {n:05d}", bot_accuracy=0.7, bot_speed=0.5)
    services.session_next(session_id=session.pk)
    return session.pk


def play_to_the_end(session_id: int, timeout: float) -> None:
    from quizzes import services
    from quizzes.models import QuizSession

    deadline = time.monotonic() + timeout
    while QuizSession.objects.get(pk=session_id).state != QuizSession.State.FINISHED:
        if time.monotonic() > deadline:
            raise TimeoutError("the every-kind session did not finish")
        services.sessions_move_on(session_ids=[session_id])
        time.sleep(0.2)


def answer_count(session_id: int) -> int:
    from quizzes.models import Answer

    return Answer.objects.filter(round__session_id=session_id).count()


def kinds_outcome(session_id: int) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """(answers, scored) by kind, and the audit's problems."""
    from django.db.models import Count

    from quizzes import selectors
    from quizzes.models import Answer, QuizSession

    rows = (Answer.objects.filter(round__session_id=session_id).values("round__question__kind")
            .annotate(n=Count("id"), scored=Count("scored_at")))
    by_kind = {row["round__question__kind"]: (row["n"], row["scored"]) for row in rows}
    return by_kind, selectors.audit(QuizSession.objects.get(pk=session_id))
