"""With a real Celery worker (and its beat running the sweep) on the test database."""

import io

import pytest
from django.core.management import call_command

from leaderboard import board
from quizzes import selectors, services
from quizzes.models import Answer, Participant, Question, QuizSession
from tests.support.quizzes import correct_choice, make_quiz, make_quiz_of_every_kind
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_worker_scores_a_submitted_answer_and_the_leaderboard_changes(celery_worker_process):
    session = services.session_create(quiz=make_quiz(questions=2))
    ann = services.participant_join(code=session.code, nickname="ann")
    services.participant_join(code=session.code, nickname="bob")
    services.session_next(session_id=session.pk)
    answer = services.answer_submit(participant_id=ann.pk, session_id=session.pk, choice_id=correct_choice(session).pk)
    wait_for(lambda: Answer.objects.get(pk=answer.pk).scored_at, what="the worker to score the answer")
    answer.refresh_from_db()
    top = wait_for(lambda: board.top(session_id=session.pk, limit=10).standings[0].score and
                   board.top(session_id=session.pk, limit=10), what="the leaderboard to change")
    assert [(s.nickname, s.score, s.rank) for s in top.standings] == [("ann", answer.points, 1), ("bob", 0, 2)]
    assert Participant.objects.get(pk=ann.pk).score == answer.points > 500


def test_questions_close_and_advance_by_themselves_until_the_end(celery_worker_process):
    session = services.session_create(quiz=make_quiz(questions=2, time_limit=2))
    services.participant_join(code=session.code, nickname="ann")
    services.session_next(session_id=session.pk)
    wait_for(lambda: QuizSession.objects.get(pk=session.pk).state == "finished", timeout=30,
             what="the quiz to run to its end")
    assert session.rounds.count() == 2


def test_simulate_runs_a_session_of_every_kind_to_the_end_and_every_score_is_exact(celery_worker_process):
    quiz = make_quiz_of_every_kind(time_limit=3)
    out = io.StringIO()
    call_command("simulate", quiz=quiz.pk, players=8, seed=7, lobby=0, timeout=30, stdout=out)
    session = QuizSession.objects.get(quiz=quiz)
    assert session.state == "finished"
    assert session.participants.filter(is_bot=True).count() == 8
    answers = Answer.objects.filter(round__session=session)
    # The simulated players answered every kind of question, rightly and wrongly.
    assert set(answers.values_list("round__question__kind", flat=True)) == set(Question.Kind.values)
    assert answers.filter(is_correct=True).exists() and answers.filter(is_correct=False).exists()
    assert answers.filter(text__gt="").exists()
    assert selectors.audit(session) == []
    text = out.getvalue()
    assert f"Session {session.code}" in text and "Top 10 of 8" in text and "Redis equals the database" in text


def test_simulate_with_a_seed_repeats_the_players_choices(celery_worker_process):
    choices = []
    for _ in range(2):
        quiz = make_quiz(questions=2, time_limit=3)
        call_command("simulate", quiz=quiz.pk, players=5, seed=11, lobby=0, timeout=30, stdout=io.StringIO())
        session = QuizSession.objects.get(quiz=quiz)
        choices.append(sorted(
            (a.participant.nickname, a.round.index, a.choice.order)
            for a in Answer.objects.filter(round__session=session).select_related("participant", "round", "choice")
        ))
    assert choices[0] == choices[1] and choices[0]
