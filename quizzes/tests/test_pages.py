import pytest
from django.test import Client

from quizzes import services
from tests.support.quizzes import make_quiz

pytestmark = pytest.mark.django_db


@pytest.fixture
def session():
    return services.session_create(quiz=make_quiz(questions=2))


def test_the_home_page_asks_for_code_and_nickname(client):
    page = client.get("/?code=abc123").content.decode()
    assert 'name="code"' in page and 'name="nickname"' in page and 'value="abc123"' in page


def test_joining_leads_to_the_player_page(client, session):
    response = client.post("/join", {"code": session.code, "nickname": "Ann"})
    assert response.status_code == 302 and response["Location"] == f"/play/{session.code}"
    page = client.get(response["Location"]).content.decode()
    assert 'You\'re in as <span class="my-name">Ann</span>' in page and f"/ws/play/{session.code}" in page


@pytest.mark.parametrize(
    "code, nickname, message",
    [
        ("NOPE99", "Ann", "No quiz has that code"),
        ("", "Ann", "Enter the game code"),
        (None, "", "Choose a nickname"),
        (None, "<script>x</script>", "Use letters, digits"),
    ],
)
def test_join_errors_are_shown_on_the_form(client, session, code, nickname, message):
    response = client.post("/join", {"code": session.code if code is None else code, "nickname": nickname})
    page = response.content.decode()
    assert response.status_code == 400 and message in page
    assert "<script>alert" not in page
    assert not session.participants.exists()


def test_a_taken_nickname_is_shown_on_the_form(session):
    Client().post("/join", {"code": session.code, "nickname": "Ann"})
    response = Client().post("/join", {"code": session.code, "nickname": "ann"})
    assert "taken" in response.content.decode()


def test_a_refresh_or_a_new_tab_keeps_the_same_participant(client, session):
    client.post("/join", {"code": session.code, "nickname": "Ann"})
    client.post("/join", {"code": session.code, "nickname": "Someone else"})
    assert list(session.participants.values_list("nickname", flat=True)) == ["Ann"]
    assert "Ann" in client.get(f"/play/{session.code}").content.decode()


def test_the_player_page_needs_a_join_first(client, session):
    response = client.get(f"/play/{session.code}")
    assert response.status_code == 302 and response["Location"] == f"/?code={session.code}"


def test_forms_are_csrf_protected(session):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/join", {"code": session.code, "nickname": "Ann"}).status_code == 403


def test_the_livescore_page_shows_the_standings(client, session, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.participant_join(code=session.code, nickname="Ann")
    page = client.get(f"/livescore/{session.code}").content.decode()
    assert 'id="leaderboard"' in page and "Ann" in page and f"/ws/livescore/{session.code}" in page


def test_no_page_reveals_the_correct_choice_while_the_question_is_open(client, session):
    client.post("/join", {"code": session.code, "nickname": "Ann"})
    services.session_next(session_id=session.pk)
    page = client.get(f"/play/{session.code}").content.decode()
    session.refresh_from_db()
    choices = list(session.current_round.question.choices.all())
    assert all(c.text in page for c in choices)
    assert "is-correct" not in page and "The answer" not in page and "is_correct" not in page


def test_healthz_says_alive_and_readyz_checks_database_redis_and_broker(client):
    assert client.get("/healthz").content == b"ok"
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.content.decode().split("\n") == ["database: ok", "redis: ok", "broker: ok"]


def test_readyz_fails_when_redis_is_unreachable(client, settings, monkeypatch):
    import live.redis as connections

    monkeypatch.setattr(connections, "_sync_client", None)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    monkeypatch.setattr(connections, "_sync_client", None)
    assert response.status_code == 503 and "redis: down" in response.content.decode()


def test_a_flood_of_join_attempts_from_one_address_is_refused_and_stores_nothing(client, session, settings):
    settings.ELSA = {**settings.ELSA, "JOINS_PER_MINUTE": 5}
    statuses = [Client().post("/join", {"code": session.code, "nickname": f"p{n}"},
                              REMOTE_ADDR="203.0.113.7").status_code for n in range(8)]
    assert statuses[:5] == [302] * 5 and statuses[5:] == [429] * 3
    assert session.participants.count() == 5
    page = client.post("/join", {"code": session.code, "nickname": "late"}, REMOTE_ADDR="203.0.113.7")
    assert "Too many join attempts" in page.content.decode()
    other = Client().post("/join", {"code": session.code, "nickname": "elsewhere"}, REMOTE_ADDR="198.51.100.1")
    assert other.status_code == 302
