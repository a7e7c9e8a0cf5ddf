"""Shuffled choices: the host's choice before the start. Every screen deals a question's
choices in the same order, drawn from the session; scoring does not care."""

import re

import pytest

from quizzes import partials, selectors, services
from quizzes.models import Answer
from tests.support.quizzes import answer_after, correct_choice, make_quiz

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit hooks write the board


def dealt(html: str) -> list[str]:
    """The choices' texts in the order a rendered stage shows them."""
    return re.findall(r"Choice \d+\.\d+", html)


def play_through(session) -> list[tuple[list[str], list[str], list[str]]]:
    """For each question: (authored order, as the player's phone shows it, as the host screen
    shows it); every answer is the correct choice."""
    ann = services.participant_join(code=session.code, nickname="ann")
    seen = []
    for _ in range(session.quiz.questions.count()):
        services.session_next(session_id=session.pk)  # open (from the lobby or the leaderboard)
        session.refresh_from_db()
        question = session.current_round.question
        authored = list(question.choices.order_by("order").values_list("text", flat=True))
        ann.refresh_from_db()
        phone = dealt(partials.player_page(selectors.player_view(ann))["stage"])
        host = dealt(partials.host_stage(selectors.host_view(session)))
        seen.append((authored, phone, host))
        answer_after(session, ann, correct_choice(session), 2)
        services.session_next(session_id=session.pk)  # close
        services.session_next(session_id=session.pk)  # the leaderboard, or the end after the last
    return seen


def test_shuffled_choices_differ_from_the_authored_order_yet_match_on_every_screen_and_still_score():
    session = services.session_create(quiz=make_quiz(questions=3), shuffle_choices=True, bot_seed=7,
                                      scores_live=False, auto_advance=False)
    seen = play_through(session)
    assert all(phone == host and sorted(phone) == sorted(authored) for authored, phone, host in seen)
    assert any(phone != authored for authored, phone, _ in seen)
    answers = Answer.objects.filter(round__session=session)
    assert answers.count() == 3 and all(a.is_correct and a.points > 0 for a in answers)


def test_the_same_seed_deals_the_same_order():
    orders = []
    for _ in range(2):
        session = services.session_create(quiz=make_quiz(questions=3), shuffle_choices=True, bot_seed=11,
                                          scores_live=False, auto_advance=False)
        orders.append([phone for _, phone, _ in play_through(session)])
    assert orders[0] == orders[1]


def test_without_shuffling_every_screen_shows_the_authored_order():
    session = services.session_create(quiz=make_quiz(questions=3), shuffle_choices=False, bot_seed=7,
                                      scores_live=False, auto_advance=False)
    assert all(authored == phone == host for authored, phone, host in play_through(session))
