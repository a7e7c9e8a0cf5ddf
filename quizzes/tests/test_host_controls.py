"""The host screen's controls over HTTP: the choices before the start, removing a player,
locking the lobby; only the session's host may use them, and bad input changes nothing."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from quizzes import services
from quizzes.models import Participant, QuizSession
from tests.support.quizzes import make_host, make_quiz

pytestmark = pytest.mark.django_db


@pytest.fixture
def teacher():
    return make_host()


@pytest.fixture
def host(teacher):
    client = Client()
    client.force_login(teacher)
    return client


@pytest.fixture
def session(teacher):
    return services.session_create(quiz=make_quiz(questions=2), host=teacher, scores_live=True)


def settings_of(session) -> tuple:
    session.refresh_from_db()
    return session.scores_live, session.shuffle_choices, session.auto_advance, session.locked


def test_the_lobby_offers_the_hosts_choices_and_a_remove_button_per_player(host, session):
    services.participant_join(code=session.code, nickname="Ann")
    page = host.get(f"/host/{session.code}").content.decode()
    assert 'name="scores" value="live" checked' in page and "Shuffle the choices" in page
    assert "Lock the lobby" in page and 'aria-label="Remove Ann"' in page


def test_the_host_sets_how_the_quiz_runs_before_the_start(host, session):
    response = host.post(f"/host/{session.code}/options",
                         {"scores": "reveal", "shuffle_choices": ["0", "1"], "auto_advance": "0", "locked": ["0", "1"]})
    assert response.status_code == 204
    assert settings_of(session) == (False, True, False, True)
    with pytest.raises(services.JoinError):
        services.participant_join(code=session.code, nickname="Late")


def test_after_the_start_how_scores_show_is_fixed_but_the_lock_is_not(host, session):
    services.session_next(session_id=session.pk)
    response = host.post(f"/host/{session.code}/options", {"scores": "reveal"})
    assert response.status_code == 409 and "before the quiz starts" in response.content.decode()
    assert settings_of(session)[0] is True
    assert host.post(f"/host/{session.code}/options", {"locked": "1"}).status_code == 204
    assert settings_of(session)[3] is True


@pytest.mark.parametrize("data", [{}, {"scores": "sometimes"}, {"locked": "maybe"}, {"auto_advance": "2"}])
def test_a_choice_the_screen_does_not_offer_is_refused_and_changes_nothing(host, session, data):
    before = settings_of(session)
    response = host.post(f"/host/{session.code}/options", data)
    assert response.status_code == 400 and "not a choice" in response.content.decode()
    assert settings_of(session) == before


def test_the_host_removes_a_player(host, session):
    ann = services.participant_join(code=session.code, nickname="Ann")
    assert host.post(f"/host/{session.code}/kick", {"participant": ann.pk}).status_code == 204
    ann.refresh_from_db()
    assert ann.kicked_at is not None
    assert 'aria-label="Remove Ann"' not in host.get(f"/host/{session.code}").content.decode()


@pytest.mark.parametrize("participant", ["", "x", "-1", "99999999999999999999999", "0"])
def test_removing_needs_a_real_player_id(host, session, participant):
    services.participant_join(code=session.code, nickname="Ann")
    response = host.post(f"/host/{session.code}/kick", {"participant": participant})
    assert response.status_code == 400
    assert not Participant.objects.filter(kicked_at__isnull=False).exists()


def test_a_player_of_another_session_cannot_be_removed_from_here(host, session):
    other = services.session_create(quiz=make_quiz(questions=1))
    bob = services.participant_join(code=other.code, nickname="Bob")
    response = host.post(f"/host/{session.code}/kick", {"participant": bob.pk})
    assert response.status_code == 409
    bob.refresh_from_db()
    assert bob.kicked_at is None


def test_only_the_sessions_host_may_use_the_controls(session):
    ann = services.participant_join(code=session.code, nickname="Ann")
    watcher = Client()
    watcher.force_login(User.objects.create_user("colleague", password="a-long-pass", is_staff=True))
    assert watcher.post(f"/host/{session.code}/options", {"locked": "1"}).status_code == 403
    assert watcher.post(f"/host/{session.code}/kick", {"participant": ann.pk}).status_code == 403
    anonymous = Client()
    assert anonymous.post(f"/host/{session.code}/options", {"locked": "1"}).status_code == 302  # to the login
    assert settings_of(session)[3] is False
    ann.refresh_from_db()
    assert ann.kicked_at is None and QuizSession.objects.get(pk=session.pk).state == QuizSession.State.LOBBY
