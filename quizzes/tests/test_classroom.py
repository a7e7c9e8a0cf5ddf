"""The teacher's pace, through the services: scores at the reveal, the leaderboard step,
closing when everyone connected has answered, removing a player, locking the lobby."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leaderboard import board
from live import presence
from quizzes import selectors, services
from quizzes.models import Answer, Participant, QuizSession
from tests.support.quizzes import answer_after, correct_choice, make_quiz, wrong_choice

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit hooks write the board
State = QuizSession.State


@pytest.fixture
def classroom():
    """A classroom session: scores at the reveal, the host sets the pace."""
    return services.session_create(quiz=make_quiz(questions=2), scores_live=False, auto_advance=False)


def board_scores(session) -> dict[str, int]:
    return {s.nickname: s.score for s in board.top(session_id=session.pk, limit=50).standings}


def test_with_scores_at_the_reveal_nothing_moves_until_the_close_then_everything_at_once(classroom):
    ann = services.participant_join(code=classroom.code, nickname="ann")
    bob = services.participant_join(code=classroom.code, nickname="bob")
    services.session_next(session_id=classroom.pk)
    answer_after(classroom, ann, correct_choice(classroom), 2)
    answer_after(classroom, bob, wrong_choice(classroom), 3)
    assert services.score_all_pending() == 2  # scored in real time, as a worker does...
    assert Answer.objects.filter(points__gt=0).count() == 1
    # ...but no total and no board moves while the question is open.
    assert list(Participant.objects.order_by("nickname").values_list("score", flat=True)) == [0, 0]
    assert board_scores(classroom) == {"ann": 0, "bob": 0}
    assert selectors.audit(classroom) == []

    services.session_next(session_id=classroom.pk)  # the close applies the round's points, once
    points = Answer.objects.get(participant=ann).points
    ann.refresh_from_db()
    assert ann.score == points and ann.score_reached_at == Answer.objects.get(participant=ann).received_at
    assert board_scores(classroom) == {"ann": points, "bob": 0}
    assert not services.round_close(round_id=Answer.objects.get(participant=ann).round_id)  # no second close
    ann.refresh_from_db()
    assert ann.score == points
    assert selectors.audit(classroom) == []


def test_live_scores_follow_each_scored_answer():
    session = services.session_create(quiz=make_quiz(questions=1), scores_live=True)
    ann = services.participant_join(code=session.code, nickname="ann")
    services.session_next(session_id=session.pk)
    answer_after(session, ann, correct_choice(session), 1)
    services.score_all_pending()
    ann.refresh_from_db()
    assert ann.score > 0 and board_scores(session) == {"ann": ann.score}


def test_the_leaderboard_is_a_step_and_waits_for_the_host_unless_it_advances_itself(classroom):
    services.session_next(session_id=classroom.pk)
    closed = services.session_next(session_id=classroom.pk)
    assert closed.state == State.QUESTION_CLOSED and closed.advance_at is None
    far = timezone.now() + timedelta(hours=1)
    assert services.sessions_move_on(session_ids=[classroom.pk], now=far) == {"closed": 0, "advanced": 0}

    services.session_configure(session_id=classroom.pk, auto_advance=True)  # the host lets it run
    classroom.refresh_from_db()
    assert classroom.advance_at is not None
    assert services.sessions_move_on(session_ids=[classroom.pk], now=far)["advanced"] == 1
    classroom.refresh_from_db()
    assert classroom.state == State.STANDINGS and classroom.advance_at is not None
    services.sessions_move_on(session_ids=[classroom.pk], now=far + timedelta(hours=1))
    classroom.refresh_from_db()
    assert classroom.state == State.QUESTION_OPEN and classroom.current_round.index == 1


def vouch(session, *people) -> None:
    """As a web process does for the people it has sockets for (live/presence.py)."""
    presence.vouch_now("another-web-process", {session.pk: {p.pk for p in people}})


def test_a_question_closes_as_soon_as_everyone_connected_has_answered(classroom):
    ann, bob, cat = (services.participant_join(code=classroom.code, nickname=n) for n in ("ann", "bob", "cat"))
    services.session_next(session_id=classroom.pk)
    vouch(classroom, ann, bob)  # cat joined but is not connected
    answer_after(classroom, ann, correct_choice(classroom), 1)
    assert services.sessions_move_on(session_ids=[classroom.pk]) == {"closed": 0, "advanced": 0}
    answer_after(classroom, bob, wrong_choice(classroom), 2)
    assert services.sessions_move_on(session_ids=[classroom.pk]) == {"closed": 1, "advanced": 0}
    classroom.refresh_from_db()
    assert classroom.state == State.QUESTION_CLOSED
    assert classroom.current_round.closed_at < classroom.current_round.closes_at


def test_one_poll_of_many_rooms_closes_only_those_whose_connected_players_all_answered(classroom):
    # A web process polls all of its rooms at once (one presence read for all of them):
    # each room is judged by its own players.
    other = services.session_create(quiz=make_quiz(questions=2), scores_live=False, auto_advance=False)
    ann, bob = (services.participant_join(code=classroom.code, nickname=n) for n in ("ann", "bob"))
    cat, dan = (services.participant_join(code=other.code, nickname=n) for n in ("cat", "dan"))
    for session in (classroom, other):
        services.session_next(session_id=session.pk)
    vouch(classroom, ann)  # bob is not connected
    vouch(other, cat, dan)
    answer_after(classroom, ann, correct_choice(classroom), 1)
    answer_after(other, cat, correct_choice(other), 1)  # dan, connected, has not answered
    assert services.sessions_move_on(session_ids=[classroom.pk, other.pk]) == {"closed": 1, "advanced": 0}
    states = dict(QuizSession.objects.filter(pk__in=[classroom.pk, other.pk]).values_list("pk", "state"))
    assert states == {classroom.pk: State.QUESTION_CLOSED, other.pk: State.QUESTION_OPEN}


def test_the_sweep_keeps_to_the_clock_and_leaves_the_early_close_to_the_web_processes(classroom):
    ann = services.participant_join(code=classroom.code, nickname="ann")
    services.session_next(session_id=classroom.pk)
    vouch(classroom, ann)
    answer_after(classroom, ann, correct_choice(classroom), 1)
    assert services.sweep()["closed"] == 0  # everyone connected answered, but the clock runs on
    classroom.refresh_from_db()
    assert classroom.state == State.QUESTION_OPEN
    assert services.sessions_move_on(session_ids=[classroom.pk])["closed"] == 1  # the room's web process


def test_nobody_connected_means_the_timer_decides(classroom):
    ann = services.participant_join(code=classroom.code, nickname="ann")
    services.session_next(session_id=classroom.pk)
    answer_after(classroom, ann, correct_choice(classroom), 1)
    assert services.sessions_move_on(session_ids=[classroom.pk])["closed"] == 0


def test_a_removed_player_is_off_the_board_refused_and_their_name_stays_taken(classroom):
    ann = services.participant_join(code=classroom.code, nickname="ann")
    services.participant_join(code=classroom.code, nickname="bob")
    services.participant_kick(session_id=classroom.pk, participant_id=ann.pk)
    assert set(board_scores(classroom)) == {"bob"}
    assert [name for _, name in selectors.roster(classroom)["players"]] == ["bob"]
    services.session_next(session_id=classroom.pk)
    with pytest.raises(services.AnswerRefused) as refused:
        answer_after(classroom, ann, correct_choice(classroom), 1)
    assert refused.value.code == "kicked" and not Answer.objects.exists()
    with pytest.raises(services.JoinError):
        services.participant_join(code=classroom.code, nickname="Ann")
    assert selectors.participant_in(participant_id=ann.pk, code=classroom.code) is None
    with pytest.raises(services.HostError):
        services.participant_kick(session_id=classroom.pk, participant_id=10**9)


def test_a_locked_lobby_lets_no_one_new_in_and_unlocks(classroom):
    services.session_configure(session_id=classroom.pk, locked=True)
    with pytest.raises(services.JoinError) as refused:
        services.participant_join(code=classroom.code, nickname="late")
    assert refused.value.code == "locked" and "locked" in refused.value.message
    services.session_configure(session_id=classroom.pk, locked=False)
    assert services.participant_join(code=classroom.code, nickname="late").pk


def test_how_scores_are_shown_is_chosen_before_the_start(classroom):
    services.session_configure(session_id=classroom.pk, scores_live=True, shuffle_choices=True)
    services.session_next(session_id=classroom.pk)
    with pytest.raises(services.HostError):
        services.session_configure(session_id=classroom.pk, scores_live=False)
    classroom.refresh_from_db()
    assert classroom.scores_live and classroom.shuffle_choices
    assert sorted(classroom.current_round.choice_order) == sorted(
        classroom.current_round.question.choices.values_list("pk", flat=True))
