"""The teacher's report: its figures against the answers table, its CSV and XLSX downloads,
and who may read it."""

import csv
import io
from datetime import timedelta

import openpyxl
import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from quizzes import reports, services
from quizzes.models import STANDING_ORDER, Answer, Participant, Question, QuizSession
from tests.support.quizzes import make_host, make_quiz_of_every_kind, open_next_question

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit hooks write the board
Kind = Question.Kind

# Per question of make_quiz_of_every_kind (in its order): what each player sends and when
# (seconds after they could answer); None: no answer. "right"/"wrong" name a choice.
PLAN = {
    Kind.CHOICE: {"ann": ("right", 2), "bob": ("wrong", 5), "cat": None},
    Kind.TRUE_FALSE: {"ann": ("wrong", 3), "bob": ("right", 1.5), "cat": ("right", 4)},
    Kind.TYPED: {"ann": ({"text": "bougth"}, 6), "bob": ({"text": "bought"}, 3), "cat": ({"text": "buyed"}, 9)},
    Kind.LISTEN: {"ann": ("right", 2.25), "bob": None, "cat": ("wrong", 7)},
    Kind.PICTURE: {"ann": ("right", 1), "bob": ("right", 2), "cat": ("right", 3)},
    Kind.ORDER: {"ann": ({"words": "She has lived here since 2010.".split()}, 12),
                 "bob": ({"words": "She lived has here since 2010.".split()}, 8), "cat": None},
}


@pytest.fixture
def played():
    """A finished classroom session of every kind, three players, known answers."""
    session = services.session_create(quiz=make_quiz_of_every_kind(), scores_live=False, auto_advance=False)
    players = {name: services.participant_join(code=session.code, nickname=name) for name in ("ann", "bob", "cat")}
    removed = services.participant_join(code=session.code, nickname="gone")
    for _ in range(len(PLAN)):
        session = open_next_question(session)
        round_ = session.current_round
        start = round_.opened_at + timedelta(seconds=round_.speech_seconds)
        for name, planned in PLAN[round_.question.kind].items():
            if planned is None:
                continue
            given, seconds = planned
            if isinstance(given, str):
                given = {"choice_id": round_.question.choices.filter(is_correct=given == "right").first().pk}
            services.answer_submit(participant_id=players[name].pk, session_id=session.pk,
                                   received_at=start + timedelta(seconds=seconds), **given)
        if round_.index == 0:
            services.answer_submit(participant_id=removed.pk, session_id=session.pk,
                                   choice_id=round_.question.choices.first().pk)
            services.participant_kick(session_id=session.pk, participant_id=removed.pk)
        services.session_next(session_id=session.pk)  # close: every answer is scored
    session = services.session_next(session_id=session.pk)
    assert session.state == QuizSession.State.FINISHED
    return session


def expected_rows(session) -> list[dict]:
    """The answers table, read on its own: one row per player still in × question asked."""
    rounds = list(session.rounds.select_related("question").order_by("index"))
    kinds = dict(Question.Kind.choices)
    rows = []
    for player in Participant.objects.filter(session=session, kicked_at__isnull=True).order_by(*STANDING_ORDER):
        for round_ in rounds:
            answer = Answer.objects.filter(participant=player, round=round_).select_related("choice").first()
            row = {"player": player.nickname, "question": round_.index + 1, "prompt": round_.question.prompt,
                   "kind": kinds[round_.question.kind]}
            if answer is None:
                row |= {"answer": "", "right": "no", "points": 0, "seconds": ""}
            else:
                taken = answer.received_at - round_.opened_at - timedelta(seconds=round_.speech_seconds)
                right = ("yes, with a typo" if answer.typo else "yes") if answer.is_correct else "no"
                row |= {"answer": answer.choice.text if answer.choice else answer.text, "right": right,
                        "points": answer.points, "seconds": round(taken.total_seconds(), 2)}
            rows.append(row)
    return rows


def test_every_cell_of_the_report_is_the_answers_table(played):
    report = reports.session_report(played)
    rows = expected_rows(played)
    got = []
    for player in report.players:
        for question, cell in zip(report.questions, player.cells, strict=True):
            row = {"player": player.nickname, "question": question.number, "prompt": question.prompt,
                   "kind": dict(Question.Kind.choices)[question.kind]}
            if cell is None:
                row |= {"answer": "", "right": "no", "points": 0, "seconds": ""}
            else:
                row |= {"answer": cell.answer, "right": reports.right_label(cell), "points": cell.points,
                        "seconds": cell.seconds}
            got.append(row)
    assert got == rows
    # The plan, spot-checked: a typo is right with fewer points; the removed player is off.
    typed = {r["player"]: r for r in rows if r["question"] == 3}
    assert typed["ann"]["right"] == "yes, with a typo" and typed["bob"]["right"] == "yes"
    assert 0 < typed["ann"]["points"] and typed["cat"]["right"] == "no"
    assert {r["seconds"] for r in rows if r["question"] == 6 and r["player"] == "ann"} == {12.0}
    assert "gone" not in {r["player"] for r in rows}


def test_the_hardest_questions_and_each_players_accuracy_follow_the_answers(played):
    report = reports.session_report(played)
    players = Participant.objects.filter(session=played, kicked_at__isnull=True)
    answers = Answer.objects.filter(round__session=played, participant__in=players)
    asked = played.rounds.count()
    shares = {r.index + 1: answers.filter(round=r, is_correct=True).count() / players.count()
              for r in played.rounds.all()}
    assert [(q.number, q.share_right) for q in report.hardest] == sorted(shares.items(), key=lambda i: (i[1], i[0]))
    # PLAN: one player in three right on the choice, listening and word order questions; all on the picture.
    assert report.hardest[0].number == 1 and report.hardest[-1].number == 5 and report.hardest[-1].share_right == 1
    accuracy = {p.nickname: answers.filter(participant=p, is_correct=True).count() / asked for p in players}
    assert {p.nickname: p.accuracy for p in report.players} == accuracy
    assert {p.nickname: p.score for p in report.players} == dict(players.values_list("nickname", "score"))
    assert {p.nickname: p.answered for p in report.players} == {
        p.nickname: answers.filter(participant=p).count() for p in players}


def _csv_rows(content: bytes) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
    for row in rows:
        row["question"] = int(row["question"])
        row["points"] = int(row["points"])
        row["seconds"] = float(row["seconds"]) if row["seconds"] else ""
    return rows


def test_the_csv_download_parses_back_to_the_same_figures(played, client):
    client.force_login(make_host())
    response = client.get(reverse("quizzes:report_csv", args=[played.code]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f"elsa-report-{played.code}.csv" in response["Content-Disposition"]
    assert _csv_rows(response.content) == expected_rows(played)


def test_the_xlsx_download_parses_back_to_the_same_figures(played, client):
    client.force_login(make_host())
    response = client.get(reverse("quizzes:report_xlsx", args=[played.code]))
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Answers", "Hardest questions", "Players"]
    header, *body = book["Answers"].iter_rows(values_only=True)
    rows = [{key: ("" if value is None else value) for key, value in zip(header, line)} for line in body]
    assert rows == expected_rows(played)
    report = reports.session_report(played)
    header, *body = book["Players"].iter_rows(values_only=True)
    assert [dict(zip(header, line)) for line in body] == [
        {"player": p.nickname, "score": p.score, "answered": p.answered, "right": p.right,
         "accuracy %": reports.percent(p.accuracy)} for p in report.players]
    header, *body = book["Hardest questions"].iter_rows(values_only=True)
    assert [line[0] for line in body] == [q.number for q in report.hardest]
    assert [line[5] for line in body] == [reports.percent(q.share_right) for q in report.hardest]


def test_the_report_page_shows_every_player_and_question(played, client):
    client.force_login(make_host())
    page = client.get(reverse("quizzes:report", args=[played.code])).content.decode()
    for name in ("ann", "bob", "cat"):
        assert f">{name}</th>" in page
    assert "bougth" in page and "Put the words in order." in page and "gone" not in page
    assert reverse("quizzes:report_xlsx", args=[played.code]) in page


@pytest.mark.parametrize("name", ["report", "report_csv", "report_xlsx"])
def test_anonymous_visitors_and_players_are_sent_to_log_in(played, client, name):
    url = reverse(f"quizzes:{name}", args=[played.code])
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
    # A player of this very session (their browser holds the participant cookie) is no better.
    session = services.session_create(quiz=played.quiz)
    client.post("/join", {"code": session.code, "nickname": "Player"})
    response = client.get(reverse(f"quizzes:{name}", args=[session.code]))
    assert response.status_code == 302 and "/login/" in response["Location"]
    player = User.objects.create_user("learner", password="a-long-pass")  # an account, but not staff
    client.force_login(player)
    assert client.get(url).status_code == 302


def test_the_host_superusers_and_staff_who_may_watch_may_read_it_but_inactive_staff_not(played, client):
    url = reverse("quizzes:report", args=[played.code])
    watcher = User.objects.create_user("watcher", password="a-long-pass", is_staff=True)  # may not host
    boss = User.objects.create_superuser("boss", password="a-long-pass")
    for user in (make_host(), watcher, boss):
        client.force_login(user)
        assert client.get(url).status_code == 200
    watcher.is_active = False
    watcher.save()
    client.force_login(watcher)
    assert client.get(url).status_code == 302


def test_the_admins_session_list_links_to_the_report(played, client):
    client.force_login(User.objects.create_superuser("boss", password="a-long-pass"))
    page = client.get(reverse("admin:quizzes_quizsession_changelist")).content.decode()
    assert reverse("quizzes:report", args=[played.code]) in page


def test_answers_that_a_spreadsheet_would_run_stay_text_in_the_downloads(client):
    session = services.session_create(quiz=make_quiz_of_every_kind(), scores_live=False, auto_advance=False)
    player = services.participant_join(code=session.code, nickname="-ann")
    session = open_next_question(session)
    session = open_next_question(open_next_question(session))  # the typed question
    assert session.current_round.question.kind == Kind.TYPED
    services.answer_submit(participant_id=player.pk, session_id=session.pk, text='=HYPERLINK("http://x","y")')
    services.session_next(session_id=session.pk)
    client.force_login(make_host())
    rows = list(csv.DictReader(io.StringIO(
        client.get(reverse("quizzes:report_csv", args=[session.code])).content.decode())))
    typed = next(row for row in rows if row["question"] == "3")
    assert typed["answer"] == "'=HYPERLINK(\"http://x\",\"y\")" and typed["player"] == "'-ann"
    book = openpyxl.load_workbook(io.BytesIO(client.get(reverse("quizzes:report_xlsx", args=[session.code])).content))
    cells = [cell for row in book["Answers"].iter_rows() for cell in row]
    assert not any(cell.data_type == "f" for cell in cells)
    assert "'=HYPERLINK(\"http://x\",\"y\")" in [cell.value for cell in cells]


def test_the_admin_shows_a_players_answers_read_only(played, client):
    client.force_login(User.objects.create_superuser("boss", password="a-long-pass"))
    ann = Participant.objects.get(session=played, nickname="ann")
    page = client.get(reverse("admin:quizzes_participant_change", args=[ann.pk])).content.decode()
    assert "bougth" in page and 'name="answers-0-points"' not in page
