"""Building quizzes for tests the way staff do in the admin, playing through services, and
checking the outcome against the scoring rules from the ledger alone."""

from datetime import timedelta

from django.contrib.auth.models import Permission, User

from leaderboard import board
from quizzes import rules, selectors, services
from quizzes.models import STANDING_ORDER, Answer, Choice, Participant, Question, Quiz

from .waiting import wait_for


def make_quiz(*, questions: int = 3, time_limit: int = 20, points: int = 1000, speed_points: bool = True) -> Quiz:
    quiz = Quiz.objects.create(title=f"Test quiz {Quiz.objects.count() + 1}")
    for order in range(questions):
        question = Question.objects.create(
            quiz=quiz, order=order, prompt=f"Question {order + 1}?", time_limit_seconds=time_limit,
            points=points, speed_points=speed_points,
        )
        for n in range(4):
            Choice.objects.create(question=question, order=n, text=f"Choice {order + 1}.{n + 1}",
                                  is_correct=n == order % 4)
    return quiz


def make_quiz_of_every_kind(*, time_limit: int = 20) -> Quiz:
    """One question of each kind, in the order of Question.Kind, each answerable."""
    from django.core.files.base import ContentFile

    from quizzes.sample_pictures import clock

    quiz = Quiz.objects.create(title=f"Every kind {Quiz.objects.count() + 1}")
    Kind = Question.Kind
    specs = [
        (Kind.CHOICE, "Pick the synonym of “big”.", ["small", "large", "thin"], 1, ""),
        (Kind.TRUE_FALSE, "“Lend” and “borrow” mean the same.", ["True", "False"], 1, ""),
        (Kind.TYPED, "Type the past tense of “buy”.", [], 0, "bought"),
        (Kind.LISTEN, "Turn the music down, please.", ["Make it quieter.", "Make it louder."], 0, ""),
        (Kind.PICTURE, "What time is it?", ["A quarter to eight", "Half past seven"], 0, ""),
        (Kind.ORDER, "Put the words in order.", [], 0, "She has lived here since 2010."),
    ]
    for order, (kind, prompt, choices, right, accepted) in enumerate(specs):
        question = Question(quiz=quiz, order=order, kind=kind, prompt=prompt, accepted_answers=accepted,
                            time_limit_seconds=time_limit)
        if kind == Kind.PICTURE:
            question.image.save(f"clock-{quiz.pk}.png", ContentFile(clock(7, 45)), save=False)
        question.save()
        for n, text in enumerate(choices):
            Choice.objects.create(question=question, order=n, text=text, is_correct=n == right)
    return quiz


def open_next_question(session):
    """Press the host's button until the next question is open: past the reveal and the
    leaderboard between two questions (or the end, after the last)."""
    while True:
        session = services.session_next(session_id=session.pk)
        if session.state in ("open", "finished"):
            return session


def correct_choice(session):
    session.refresh_from_db()
    return session.current_round.question.choices.get(is_correct=True)


def wrong_choice(session):
    session.refresh_from_db()
    return session.current_round.question.choices.filter(is_correct=False).first()


def answer_after(session, participant, choice, seconds: float):
    """Submit as if the server received the answer `seconds` after the question opened."""
    session.refresh_from_db()
    return services.answer_submit(
        participant_id=participant.pk,
        session_id=session.pk,
        choice_id=choice.pk,
        received_at=session.current_round.opened_at + timedelta(seconds=seconds),
    )


def make_host(username: str = "teacher", password: str = "a-long-pass") -> User:
    """A staff user allowed to host (quizzes.host_quiz), as an admin would set one up."""
    user = User.objects.create_user(username, password=password, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="host_quiz", content_type__app_label="quizzes"))
    return user


def scored(session) -> int:
    return Answer.objects.filter(round__session=session, scored_at__isnull=False).count()


def db_standings(session) -> list[dict]:
    """The JSON feed's format, computed from the database alone."""
    rows = list(Participant.objects.filter(session=session).order_by(*STANDING_ORDER).values_list("nickname", "score"))
    ranks = board.competition_ranks([score for _, score in rows])
    return [{"PlayerID": nick, "Score": float(score), "Rank": rank} for (nick, score), rank in zip(rows, ranks)]


def same_board(frame: list[dict], expected: list[dict]) -> bool:
    # Equal points share a rank; within a rank Redis orders by centisecond of reach then
    # nickname, the database by the exact instant, so compare each rank's members as a set.
    key = lambda e: (e["Rank"], e["PlayerID"])  # noqa: E731
    return sorted(frame, key=key) == sorted(expected, key=key)


def expected_points(answer: Answer, streak: int) -> int:
    question = answer.round.question
    return rules.points_for(points=question.points, speed_points=question.speed_points,
                               elapsed=answer.received_at - answer.round.opened_at,
                               limit=timedelta(seconds=question.time_limit_seconds), streak=streak)


def chose_right(answer: Answer) -> bool:
    """Whether a multiple-choice answer picked the right choice (the rule's input, read
    independently of what scoring stored)."""
    return answer.choice is not None and answer.choice.is_correct


def assert_scored_by_the_rule(session) -> None:
    """Every stored answer is scored, once, by decision 7 (streaks included), and each
    total is the sum of its player's points: recomputed from the ledger alone."""
    answers = list(Answer.objects.filter(round__session=session).select_related("round__question", "choice"))
    assert answers and all(a.scored_at is not None for a in answers), "an answer is left unscored"
    by_player: dict[int, dict[int, Answer]] = {}
    for answer in answers:
        by_player.setdefault(answer.participant_id, {})[answer.round.index] = answer
    totals = {}
    for participant_id, mine in by_player.items():
        for index, answer in mine.items():
            streak = 0
            while chose_right(answer) and index - streak in mine and chose_right(mine[index - streak]):
                streak += 1
            assert answer.is_correct == chose_right(answer)
            assert answer.points == expected_points(answer, streak), (answer.pk, answer.points, streak)
        totals[participant_id] = sum(a.points or 0 for a in mine.values())
    scores = dict(Participant.objects.filter(session=session).values_list("pk", "score"))
    assert scores == {pid: totals.get(pid, 0) for pid in scores}


def correct_text(number: int) -> str:
    """make_quiz: question n's correct choice is choice (n - 1) % 4 + 1."""
    return f"Choice {number}.{(number - 1) % 4 + 1}"


def assert_audit_clean(session, timeout: float = 10.0) -> None:
    """selectors.audit == [] (Redis writes follow their commits by a moment)."""
    try:
        wait_for(lambda: selectors.audit(session) == [], timeout=timeout, what="Redis and the ledger to agree")
    except AssertionError:
        pass
    assert selectors.audit(session) == []
