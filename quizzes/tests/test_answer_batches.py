"""Answers that arrive together are stored together: one statement, one commit, and each
answer's result exactly what it would have been alone, in turn."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from quizzes import services
from quizzes.models import Answer, Participant
from tests.support.quizzes import correct_choice, make_quiz, make_quiz_of_every_kind, open_next_question, wrong_choice

pytestmark = pytest.mark.django_db


def outcome(result):
    if isinstance(result, services.AnswerRefused):
        return result.code
    shown = result.choice.text if result.choice_id else result.text
    return ("stored", result.participant_id, result.round_id, shown)


def one_by_one(asked):
    """What `answer_submit` says for each in turn (then rolled back)."""
    results = []
    with transaction.atomic():
        for one in asked:
            try:
                results.append(outcome(services.answer_submit(**one)))
            except services.AnswerRefused as refused:
                results.append(refused.code)
        transaction.set_rollback(True)
    return results


def test_a_mixed_batch_says_for_each_answer_what_it_would_have_alone():
    session = services.session_create(quiz=make_quiz(questions=2))
    ann, bob, cid, dan, eve = (services.participant_join(code=session.code, nickname=n)
                               for n in ["ann", "bob", "cid", "dan", "eve"])
    services.participant_kick(session_id=session.pk, participant_id=eve.pk)
    session = open_next_question(session)
    typed = open_next_question(services.session_create(quiz=make_quiz_of_every_kind()))
    while typed.current_round.question.kind != "typed":
        typed = open_next_question(typed)
    fay = services.participant_join(code=typed.code, nickname="fay")
    right, wrong = correct_choice(session), wrong_choice(session)
    too_late = session.current_round.closes_at + timedelta(seconds=1)
    asked = [
        {"participant_id": ann.pk, "session_id": session.pk, "choice_id": right.pk},
        {"participant_id": bob.pk, "session_id": session.pk, "choice_id": 10**9},  # not a choice
        {"participant_id": bob.pk, "session_id": session.pk, "choice_id": wrong.pk},  # then a good one
        {"participant_id": ann.pk, "session_id": session.pk, "choice_id": wrong.pk},  # twice in one batch
        {"participant_id": cid.pk, "session_id": session.pk, "choice_id": right.pk, "received_at": too_late},
        {"participant_id": dan.pk, "session_id": session.pk, "text": "large"},  # text for a choice
        {"participant_id": dan.pk, "session_id": session.pk, "choice_id": "abc"},  # not even an id
        {"participant_id": eve.pk, "session_id": session.pk, "choice_id": right.pk},  # removed by the host
        {"participant_id": fay.pk, "session_id": typed.pk, "text": "  Bought "},  # another session, typed
        {"participant_id": fay.pk, "session_id": session.pk, "choice_id": right.pk},  # not in this one
        {"participant_id": dan.pk, "session_id": session.pk, "choice_id": right.pk,
         "round_id": session.current_round_id + 1},  # a stale round
    ]
    expected = one_by_one(asked)
    assert [e if isinstance(e, str) else e[0] for e in expected] == [
        "stored", "bad_choice", "stored", "duplicate", "late", "bad_choice", "bad_choice", "kicked", "stored",
        "not_player", "not_open"]

    results = services.answers_submit(asked)

    assert [outcome(r) for r in results] == expected
    stored = Answer.objects.filter(scored_at__isnull=True)
    assert sorted(stored.values_list("participant__nickname", flat=True)) == ["ann", "bob", "fay"]
    assert stored.get(participant=fay).text == "Bought"


def test_many_answers_are_one_insert(django_capture_on_commit_callbacks):
    session = services.session_create(quiz=make_quiz(questions=1))
    players = [services.participant_join(code=session.code, nickname=f"p{n}") for n in range(50)]
    session = open_next_question(session)
    right = correct_choice(session)
    now = timezone.now()
    asked = [{"participant_id": p.pk, "session_id": session.pk, "choice_id": right.pk, "received_at": now}
             for p in players]

    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks() as after_commit:
        results = services.answers_submit(asked)

    assert all(not isinstance(r, services.AnswerRefused) for r in results)
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().startswith("INSERT")]
    assert len(inserts) == 1
    # One scoring schedule and one event for the session, not fifty.
    assert len(after_commit) == 2
    assert Answer.objects.filter(round__session=session).count() == 50
    assert set(Participant.objects.filter(answers__isnull=False).values_list("pk", flat=True)) == {
        p.pk for p in players}


def test_a_batch_that_meets_a_deadlock_stores_each_answer_alone(monkeypatch):
    from django.db import OperationalError

    from quizzes.services import answers

    session = services.session_create(quiz=make_quiz(questions=1))
    players = [services.participant_join(code=session.code, nickname=f"p{n}") for n in range(3)]
    session = open_next_question(session)
    real = answers._insert_answers

    def deadlocked_when_many(rows):
        if len(rows) > 1:
            raise OperationalError("deadlock detected")
        return real(rows)

    monkeypatch.setattr(answers, "_insert_answers", deadlocked_when_many)
    asked = [{"participant_id": p.pk, "session_id": session.pk, "choice_id": correct_choice(session).pk}
             for p in players]
    results = services.answers_submit(asked)
    assert [outcome(r)[0] for r in results] == ["stored"] * 3
    assert Answer.objects.filter(round__session=session).count() == 3
