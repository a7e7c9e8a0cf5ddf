import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leaderboard import board
from live.redis import sync_client
from quizzes import partials, selectors, services
from quizzes.models import Answer, Participant, QuizSession
from tests.support.quizzes import answer_after, correct_choice, make_quiz, open_next_question, wrong_choice

State = QuizSession.State
pytestmark = pytest.mark.django_db


@pytest.fixture
def session():
    return services.session_create(quiz=make_quiz(questions=3))


def test_a_session_gets_a_six_character_code_without_look_alikes(session):
    assert len(session.code) == 6
    assert not set(session.code) & set("01OIL")


def test_a_quiz_with_a_broken_question_cannot_start():
    quiz = make_quiz(questions=1)
    quiz.questions.get().choices.update(is_correct=True)
    with pytest.raises(services.HostError, match="exactly one correct"):
        services.session_create(quiz=quiz)


def test_joining_trims_and_keeps_the_nickname(session):
    player = services.participant_join(code=session.code.lower(), nickname="  Nguyễn   Thu-Hà ")
    assert player.nickname == "Nguyễn Thu-Hà"
    assert player.session == session and player.score == 0


@pytest.mark.parametrize(
    "code, message",
    [("ZZZZZZ", "No quiz has that code"), ("", "No quiz has that code")],
)
def test_an_unknown_code_is_refused(session, code, message):
    with pytest.raises(services.JoinError, match=message):
        services.participant_join(code=code, nickname="ann")
    assert not Participant.objects.exists()


def test_a_finished_session_cannot_be_joined(session):
    QuizSession.objects.filter(pk=session.pk).update(state=State.FINISHED)
    with pytest.raises(services.JoinError, match="finished"):
        services.participant_join(code=session.code, nickname="ann")


def test_a_taken_nickname_is_refused_whatever_its_case(session):
    services.participant_join(code=session.code, nickname="Ann")
    with pytest.raises(services.JoinError, match="taken"):
        services.participant_join(code=session.code, nickname=" ann ")
    assert session.participants.count() == 1


@pytest.mark.parametrize(
    "nickname",
    ["", "   ", "x" * 25, "<b>hi</b>", 'a" id="stage', "hx-get=/admin", "tab\there", "nul\x00", "a\u202eb", "_"],
)
def test_invalid_nicknames_are_refused(session, nickname):
    with pytest.raises(services.JoinError):
        services.participant_join(code=session.code, nickname=nickname)
    assert not session.participants.exists()


def test_joining_while_the_quiz_runs_starts_from_zero(session):
    services.session_next(session_id=session.pk)
    late = services.participant_join(code=session.code, nickname="late")
    assert late.score == 0


def test_the_host_button_runs_the_quiz_through_its_states(session):
    states = []
    for _ in range(9):
        states.append(services.session_next(session_id=session.pk).state)
    # The answer after each question, the leaderboard between two, the podium at the end.
    assert states == ["open", "closed", "standings", "open", "closed", "standings", "open", "closed", "finished"]
    with pytest.raises(services.HostError):
        services.session_next(session_id=session.pk)


def test_the_podium_holds_only_players_who_scored(session):
    ann, bob, _ = (services.participant_join(code=session.code, nickname=n) for n in ("ann", "bob", "cyd"))
    services.session_next(session_id=session.pk)
    answer_after(session, ann, correct_choice(session), 1)
    answer_after(session, bob, wrong_choice(session), 1)
    services.score_all_pending()
    while services.session_next(session_id=session.pk).state != "finished":
        pass
    session.refresh_from_db()
    assert [p.nickname for p in selectors.host_view(session)["podium"]] == ["ann"]
    assert "Nobody scored" not in partials.host_stage(selectors.host_view(session))
    session.participants.update(score=0)
    assert "Nobody scored this time." in partials.host_stage(selectors.host_view(session))


def test_an_answer_is_stored_pending_and_scored_once(session, django_capture_on_commit_callbacks):
    player = services.participant_join(code=session.code, nickname="ann")
    services.session_next(session_id=session.pk)
    answer = answer_after(session, player, correct_choice(session), 5)
    assert answer.is_pending
    with django_capture_on_commit_callbacks(execute=True):
        assert services.score_all_pending() == 1
    assert services.score_all_pending() == 0
    answer.refresh_from_db()
    player.refresh_from_db()
    assert (answer.is_correct, answer.points, answer.streak) == (True, 875, 1)
    assert player.score == 875
    assert board.top(session_id=session.pk, limit=5).standings[0].score == 875


def test_a_second_answer_to_the_same_question_is_refused(session):
    player = services.participant_join(code=session.code, nickname="ann")
    services.session_next(session_id=session.pk)
    answer_after(session, player, correct_choice(session), 1)
    with pytest.raises(services.AnswerRefused) as refused:
        answer_after(session, player, wrong_choice(session), 2)
    assert refused.value.code == "duplicate"
    assert Answer.objects.count() == 1


def test_a_late_answer_is_refused(session):
    player = services.participant_join(code=session.code, nickname="ann")
    services.session_next(session_id=session.pk)
    with pytest.raises(services.AnswerRefused) as refused:
        answer_after(session, player, correct_choice(session), 20.001)
    assert refused.value.code == "late"
    assert not Answer.objects.exists()


def test_an_answer_to_a_closed_question_is_refused(session):
    player = services.participant_join(code=session.code, nickname="ann")
    services.session_next(session_id=session.pk)
    choice = correct_choice(session)
    services.session_next(session_id=session.pk)  # the host closes it early
    with pytest.raises(services.AnswerRefused) as refused:
        services.answer_submit(participant_id=player.pk, session_id=session.pk, choice_id=choice.pk)
    assert refused.value.code == "not_open"
    assert not Answer.objects.exists()


def test_an_answer_before_the_quiz_starts_is_refused(session):
    player = services.participant_join(code=session.code, nickname="ann")
    with pytest.raises(services.AnswerRefused):
        services.answer_submit(participant_id=player.pk, session_id=session.pk, choice_id=1)


@pytest.mark.parametrize("choice", ["abc", None, [], {"x": 1}, 10**12, -1])
def test_a_choice_that_is_not_of_this_question_is_refused(session, choice):
    player = services.participant_join(code=session.code, nickname="ann")
    services.session_next(session_id=session.pk)
    with pytest.raises(services.AnswerRefused):
        services.answer_submit(participant_id=player.pk, session_id=session.pk, choice_id=choice)
    assert not Answer.objects.exists()


def test_a_choice_of_another_question_is_refused(session):
    player = services.participant_join(code=session.code, nickname="ann")
    services.session_next(session_id=session.pk)
    other = session.quiz.questions.last().choices.first()
    with pytest.raises(services.AnswerRefused):
        services.answer_submit(participant_id=player.pk, session_id=session.pk, choice_id=other.pk)


def test_an_answer_naming_a_stale_round_is_refused(session):
    player = services.participant_join(code=session.code, nickname="ann")
    services.session_next(session_id=session.pk)
    session.refresh_from_db()
    with pytest.raises(services.AnswerRefused):
        services.answer_submit(participant_id=player.pk, session_id=session.pk,
                               choice_id=correct_choice(session).pk, round_id=session.current_round_id + 1)


def test_streaks_follow_consecutive_correct_answers_and_reset_on_a_miss():
    session = services.session_create(quiz=make_quiz(questions=4, speed_points=False))
    player = services.participant_join(code=session.code, nickname="ann")
    plan = [True, True, None, True]  # right, right, no answer, right
    for right in plan:
        open_next_question(session)
        if right is not None:
            answer_after(session, player, correct_choice(session) if right else wrong_choice(session), 1)
        services.session_next(session_id=session.pk)  # closing scores what is pending
    points = list(Answer.objects.filter(participant=player).order_by("round__index").values_list("points", "streak"))
    assert points == [(1000, 1), (1100, 2), (1000, 1)]
    player.refresh_from_db()
    assert player.score == 3100


def test_closing_a_question_scores_its_pending_answers(session):
    players = [services.participant_join(code=session.code, nickname=f"p{i}") for i in range(3)]
    services.session_next(session_id=session.pk)
    for i, player in enumerate(players):
        answer_after(session, player, correct_choice(session) if i else wrong_choice(session), i)
    services.session_next(session_id=session.pk)
    assert not Answer.objects.filter(scored_at__isnull=True).exists()
    assert sorted(Participant.objects.values_list("score", flat=True)) == [0, 950, 975]


def test_the_sweep_closes_overdue_questions_and_rescores_stale_answers(session):
    player = services.participant_join(code=session.code, nickname="ann")
    services.session_next(session_id=session.pk)
    answer_after(session, player, correct_choice(session), 1)
    session.refresh_from_db()
    later = session.current_round.closes_at + timedelta(seconds=5)
    result = services.sweep(now=later)
    # The overdue question closes (scoring its answer) and, its reveal being over by
    # then too, the leaderboard follows (one step at a time).
    assert result == {"pending": 1, "closed": 1, "advanced": 1}
    session.refresh_from_db()
    assert session.state == State.STANDINGS and session.current_round.index == 0
    player.refresh_from_db()
    assert player.score == 975


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_submissions_give_one_answer_and_one_score_change():
    session = services.session_create(quiz=make_quiz(questions=1))
    player = services.participant_join(code=session.code, nickname="ann")
    services.session_next(session_id=session.pk)
    choice = correct_choice(session)
    barrier = threading.Barrier(2)
    outcomes = []

    def submit_and_score():
        try:
            barrier.wait()
            services.answer_submit(participant_id=player.pk, session_id=session.pk, choice_id=choice.pk)
            outcomes.append("stored")
            barrier_score.wait()
            scored.append(services.score_all_pending())
        except services.AnswerRefused as refused:
            outcomes.append(refused.code)
            barrier_score.wait()
            scored.append(services.score_all_pending())
        finally:
            connection.close()

    barrier_score = threading.Barrier(2)
    scored = []
    threads = [threading.Thread(target=submit_and_score) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["duplicate", "stored"]
    assert sorted(scored) == [0, 1]
    assert Answer.objects.count() == 1
    answer = Answer.objects.get()
    player.refresh_from_db()
    assert player.score == answer.points > 0


@pytest.mark.django_db(transaction=True)
def test_many_concurrent_scorings_of_one_answer_add_its_points_once():
    session = services.session_create(quiz=make_quiz(questions=1))
    player = services.participant_join(code=session.code, nickname="ann")
    services.session_next(session_id=session.pk)
    answer_after(session, player, correct_choice(session), 0)
    barrier = threading.Barrier(6)
    claimed = []

    def score():
        try:
            barrier.wait()
            claimed.append(services.score_all_pending())
        finally:
            connection.close()

    threads = [threading.Thread(target=score) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(claimed) == [0] * 5 + [1]
    player.refresh_from_db()
    assert player.score == 1000
    assert board.top(session_id=session.pk, limit=1).standings[0].score == 1000


def test_reveal_results_rank_equal_scores_together_from_the_database():
    session = services.session_create(quiz=make_quiz(questions=1, speed_points=False))
    ann, bob, cat = (services.participant_join(code=session.code, nickname=n) for n in ("ann", "bob", "cat"))
    services.session_next(session_id=session.pk)
    answer_after(session, ann, correct_choice(session), 1)
    answer_after(session, bob, correct_choice(session), 2)
    answer_after(session, cat, wrong_choice(session), 1)
    services.session_next(session_id=session.pk)
    session.refresh_from_db()
    right, wrong = correct_choice(session).text, wrong_choice(session).text
    assert selectors.results(session) == {
        str(ann.pk): (True, 1000, 1000, 1, 1, False, right, 1), str(bob.pk): (True, 1000, 1000, 1, 1, False, right, 1),
        str(cat.pk): (False, 0, 0, 3, 0, False, wrong, 2),
    }


@pytest.mark.parametrize("order", ["together", "later_round_first"])
def test_streaks_do_not_depend_on_the_order_answers_are_scored_in(order):
    session = services.session_create(quiz=make_quiz(questions=2, speed_points=False))
    player = services.participant_join(code=session.code, nickname="ann")
    services.session_next(session_id=session.pk)
    first = answer_after(session, player, correct_choice(session), 1)
    # Open round 2 without closing round 1 through the service (which would score it).
    from quizzes.models import Round

    Round.objects.filter(pk=first.round_id).update(closed_at=first.received_at)
    QuizSession.objects.filter(pk=session.pk).update(state=State.STANDINGS)
    services.session_next(session_id=session.pk)
    Answer.objects.filter(pk=first.pk).update(scored_at=None, points=None, is_correct=None, streak=None)
    player.refresh_from_db()
    Participant.objects.filter(pk=player.pk).update(score=0, score_reached_at=None)
    second = answer_after(session, player, correct_choice(session), 1)
    if order == "later_round_first":
        assert services.answers_score_pending(round_id=second.round_id) == {second.pk}
    services.answers_score_pending()
    assert list(Answer.objects.order_by("round__index").values_list("points", "streak")) == [(1000, 1), (1100, 2)]
    player.refresh_from_db()
    assert player.score == 2100


@pytest.mark.django_db(transaction=True)
def test_answers_that_arrive_while_a_scorer_gathers_ride_along_in_its_one_batch(monkeypatch, caplog):
    from quizzes.services import scoring

    enqueued = []
    monkeypatch.setattr(scoring, "enqueue", lambda task, *args, **options: enqueued.append(task))
    sync_client().delete(scoring.SCORING_SCHEDULED)
    session = services.session_create(quiz=make_quiz(questions=1))
    players = [services.participant_join(code=session.code, nickname=f"p{n}").pk for n in range(4)]
    services.session_next(session_id=session.pk)
    choice = correct_choice(session)
    services.answer_submit(participant_id=players[0], session_id=session.pk, choice_id=choice.pk)
    assert enqueued == ["quizzes.tasks.score_pending"]  # the first answer schedules the scorer

    def the_rest_answer():
        try:
            for participant_id in players[1:]:
                services.answer_submit(participant_id=participant_id, session_id=session.pk, choice_id=choice.pk)
        finally:
            connection.close()

    rest = threading.Thread(target=the_rest_answer)
    rest.start()  # while the scorer below gathers
    with caplog.at_level("INFO", logger=scoring.__name__):
        scored = services.score_all_pending(gather=1.0)
    rest.join(timeout=30)
    assert scored == 4
    assert [r for r in caplog.messages if "scoring_batch" in r and "answers=4" in r]
    assert enqueued == ["quizzes.tasks.score_pending"]  # the three rode along: no task of their own


def test_fields_written_in_one_statement_land_on_their_own_rows_only(session):
    from quizzes.services.bulk import update_fields

    ann, bob, cy = (services.participant_join(code=session.code, nickname=name) for name in ("ann", "bob", "cy"))
    ann.score, ann.score_reached_at = 0, None  # a NULL in the first row still has its column's type
    bob.score, bob.score_reached_at, bob.nickname = 750, session.created_at, "not written"
    with CaptureQueriesContext(connection) as queries:
        update_fields([ann, bob], ["score", "score_reached_at"])
    assert len(queries) == 1
    rows = {p.pk: (p.nickname, p.score, p.score_reached_at) for p in Participant.objects.all()}
    assert rows == {ann.pk: ("ann", 0, None), bob.pk: ("bob", 750, session.created_at), cy.pk: ("cy", 0, None)}
