"""The words you missed, and practising them again: a solo round after the quiz.

When a quiz ends, each player can see every question they missed or got wrong with its
right answer, and practise just those, one at a time, with no leaderboard and no points,
until each is right once. Nothing is stored: the questions left to practise live in the
player's own signed session cookie, and answers are judged by the quiz's own rules.
"""

from dataclasses import dataclass

from . import rules
from .models import Answer, Participant, Question

QUEUE_KEY = "elsa_practice"
TEXT_MAX_LENGTH = 200


@dataclass(frozen=True)
class Missed:
    question: Question
    given: str  # what the player answered, or "" for no answer
    right: str  # the right answer, as words


def right_answer(question: Question) -> str:
    if question.kind in (Question.Kind.TYPED, Question.Kind.ORDER):
        return next(iter(rules.lines(question.accepted_answers)), "")
    return next((c.text for c in question.choices.all() if c.is_correct), "")


def missed(participant: Participant) -> list[Missed]:
    """The questions the player was asked and did not get right, in the quiz's order."""
    answers = {a.round_id: a for a in Answer.objects.filter(participant=participant).select_related("choice")}
    found = []
    rounds = participant.session.rounds.filter(closed_at__isnull=False).select_related("question").order_by("index")
    for round_ in rounds.prefetch_related("question__choices"):
        answer = answers.get(round_.pk)
        if answer is not None and answer.is_correct:
            continue
        given = (answer.choice.text if answer.choice else answer.text) if answer else ""
        found.append(Missed(round_.question, given, right_answer(round_.question)))
    return found


def check(question: Question, *, choice_id: object = None, text: object = None) -> bool:
    """Whether a practice answer is right, by the same rules as the live quiz. Word order
    is typed in practice (the whole sentence), judged word by word."""
    if question.kind in (Question.Kind.TYPED, Question.Kind.ORDER):
        if not isinstance(text, str) or not text.strip() or len(text) > TEXT_MAX_LENGTH:
            return False
        right, _ = rules.judge(question, choice=None, text=" ".join(text.split()))
        return right
    choice = question.choices.filter(pk=choice_id).first() if str(choice_id).isdigit() else None
    right, _ = rules.judge(question, choice=choice, text="")
    return right


def question_in(session, question_id: int | str) -> Question | None:
    """A question of the session's quiz, with its choices."""
    return session.quiz.questions.filter(pk=int(question_id)).prefetch_related("choices").first()


def scrambled(question: Question) -> list[str]:
    """Word order: the sentence's words, out of order (alphabetically), as a hint."""
    if question.kind != Question.Kind.ORDER:
        return []
    return sorted(rules.sentence_words(right_answer(question)), key=str.casefold)


def queue(session, code: str) -> list[int]:
    stored = session.get(QUEUE_KEY, {})
    ids = stored.get(code) if isinstance(stored, dict) else None
    return [i for i in ids if isinstance(i, int)] if isinstance(ids, list) else []


def keep_queue(session, code: str, ids: list[int]) -> None:
    stored = session.get(QUEUE_KEY, {})
    stored = stored if isinstance(stored, dict) else {}
    stored[code] = ids
    session[QUEUE_KEY] = stored


def after_answer(ids: list[int], question_id: int, right: bool) -> list[int]:
    """Right: the question leaves the round. Wrong: it comes back after the others."""
    rest = [i for i in ids if i != question_id]
    return rest if right else [*rest, question_id]
