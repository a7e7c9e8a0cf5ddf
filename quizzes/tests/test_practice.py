"""After the quiz: the words each player missed, with the right answers, and a practice
round of just those, judged by the quiz's own rules, until each is right once."""

import pytest

from quizzes import practice, services
from quizzes.models import Question
from tests.support.communicators import player_client
from tests.support.quizzes import make_quiz_of_every_kind, open_next_question

pytestmark = pytest.mark.django_db
Kind = Question.Kind


def play_to_the_end(given_by_kind: dict) -> tuple:
    """A quiz of every kind played by ann, answering as `given_by_kind` says (a kind left
    out gets no answer), then finished."""
    quiz = make_quiz_of_every_kind()
    session = services.session_create(quiz=quiz, auto_advance=False)
    ann = services.participant_join(code=session.code, nickname="ann")
    while (session := open_next_question(session)).state == "open":
        question = session.current_round.question
        given = given_by_kind.get(question.kind)
        if given is not None:
            services.answer_submit(participant_id=ann.pk, session_id=session.pk, **given(question))
    assert session.state == "finished"
    return session, ann


def right_choice(question):
    return {"choice_id": question.choices.get(is_correct=True).pk}


def wrong_choice(question):
    return {"choice_id": question.choices.filter(is_correct=False).first().pk}


@pytest.fixture
def finished():
    return play_to_the_end({
        Kind.CHOICE: right_choice,
        Kind.TRUE_FALSE: wrong_choice,
        Kind.TYPED: lambda q: {"text": "bougth"},             # a slip: still right
        # LISTEN: no answer
        Kind.PICTURE: right_choice,
        Kind.ORDER: lambda q: {"words": "here She has lived since 2010.".split()},
    })


def test_the_missed_list_has_the_wrong_and_the_unanswered_with_their_right_answers(finished):
    session, ann = finished
    missed = [(m.question.kind, m.given, m.right) for m in practice.missed(ann)]
    assert missed == [
        (Kind.TRUE_FALSE, "True", "False"),
        (Kind.LISTEN, "", "Make it quieter."),
        (Kind.ORDER, "here She has lived since 2010.", "She has lived here since 2010."),
    ]


def test_practice_answers_are_judged_by_the_quiz_rules():
    quiz = make_quiz_of_every_kind()
    by_kind = {q.kind: q for q in quiz.questions.all()}
    typed, order, listen = by_kind[Kind.TYPED], by_kind[Kind.ORDER], by_kind[Kind.LISTEN]
    assert practice.check(typed, text="Bought ") and practice.check(typed, text="bougth")
    assert not practice.check(typed, text="buyed")
    assert practice.check(order, text="she has  lived here since 2010.")
    assert not practice.check(order, text="She has here lived since 2010.")
    right = listen.choices.get(is_correct=True)
    assert practice.check(listen, choice_id=str(right.pk))
    assert not practice.check(listen, choice_id=str(listen.choices.exclude(pk=right.pk).first().pk))
    # Bad input is simply not right: never an error, never another question's choice.
    other = by_kind[Kind.CHOICE].choices.get(is_correct=True)
    for bad in ({"choice_id": str(other.pk)}, {"choice_id": "x"}, {"choice_id": None}):
        assert not practice.check(listen, **bad)
    for bad in ("", "   ", "x" * 201, None, ["bought"]):
        assert not practice.check(typed, text=bad)


def test_the_page_lists_the_missed_words_and_the_round_goes_until_each_is_right(finished):
    session, ann = finished
    phone = player_client(session, ann)
    page = phone.get(f"/practice/{session.code}").content.decode()
    assert "3 questions to look at again" in page and "Make it quieter." in page

    item = phone.post(f"/practice/{session.code}/start").content.decode()
    assert "3 to go" in item and "“Lend” and “borrow” mean the same." in item
    true_false, listen, order = (m.question for m in practice.missed(ann))

    # Wrong: the right answer shows and the question comes back after the others.
    item = answer(phone, session, true_false, choice=true_false.choices.get(is_correct=False).pk)
    assert "Not quite" in item and "3 to go" in item and "Turn the music down" in item
    item = answer(phone, session, listen, choice=listen.choices.get(is_correct=True).pk)
    assert "Right!" in item and "2 to go" in item
    item = answer(phone, session, order, text="She has lived here since 2010.")
    assert "Right!" in item and "1 to go" in item and "“Lend” and “borrow”" in item
    item = answer(phone, session, true_false, choice=true_false.choices.get(is_correct=True).pk)
    assert "All done" in item


def answer(phone, session, question, **given) -> str:
    response = phone.post(f"/practice/{session.code}/answer", {"question": question.pk, **given})
    assert response.status_code == 200
    return response.content.decode()


def test_a_question_not_in_the_practice_is_refused_and_changes_nothing(finished):
    session, ann = finished
    phone = player_client(session, ann)
    phone.post(f"/practice/{session.code}/start")
    right_already = session.quiz.questions.get(kind=Kind.CHOICE)
    for bad in ({"question": right_already.pk, "choice": right_already.choices.get(is_correct=True).pk},
                {"question": "abc"}, {"question": "999999"}, {}):
        response = phone.post(f"/practice/{session.code}/answer", bad)
        assert response.status_code == 400
    assert practice.queue(phone.session, session.code) == [m.question.pk for m in practice.missed(ann)]


def test_practice_opens_only_for_a_player_of_a_finished_quiz(finished):
    session, ann = finished
    stranger = player_client(session, ann)
    stranger.cookies.clear()
    assert stranger.get(f"/practice/{session.code}").status_code == 302
    assert stranger.post(f"/practice/{session.code}/start").status_code == 409

    running = services.session_create(quiz=session.quiz, auto_advance=False)
    bob = services.participant_join(code=running.code, nickname="bob")
    phone = player_client(running, bob)
    assert phone.get(f"/practice/{running.code}").status_code == 302, "no answers before the quiz is over"
    assert phone.post(f"/practice/{running.code}/start").status_code == 409


def test_a_player_who_got_everything_right_is_told_so():
    session, ann = play_to_the_end({
        Kind.CHOICE: right_choice, Kind.TRUE_FALSE: right_choice, Kind.TYPED: lambda q: {"text": "bought"},
        Kind.LISTEN: right_choice, Kind.PICTURE: right_choice,
        Kind.ORDER: lambda q: {"words": "She has lived here since 2010.".split()},
    })
    page = player_client(session, ann).get(f"/practice/{session.code}").content.decode()
    assert "You got every question right" in page
