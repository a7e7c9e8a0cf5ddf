"""Every kind of question, through the services: what counts as right, and what it earns."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async

from quizzes import rules, services
from quizzes.models import Answer, Question, QuizSession
from tests.support.communicators import connect, joined_cookie, receive_until
from tests.support.quizzes import make_quiz_of_every_kind, open_next_question

pytestmark = pytest.mark.django_db
Kind = Question.Kind


# The typo tolerance table: accepted "colour" / "color" / "receive" / "bed", distance 1
# for answers of five letters or more, accents ignored.
@pytest.mark.parametrize(("typed", "right", "typo"), [
    ("colour", True, False),
    ("Color", True, False),            # case
    ("  COLOUR  ", True, False),       # spaces around
    ("colur", True, True),             # a letter missing
    ("coluor", True, True),            # two letters swapped
    ("colourr", True, True),           # a letter too many
    ("recieve", True, True),           # the classic swap
    ("recieved", False, False),        # two edits away
    ("bed", True, False),
    ("bad", False, False),             # short words: no tolerance ("bad" is another word)
    ("", False, False),
])
def test_which_typed_answers_earn_what(typed, right, typo):
    assert rules.match_typed(typed, ["colour", "color", "receive", "bed"], tolerance=1, ignore_accents=True) \
        == (right, typo)


def test_accents_count_only_when_the_question_says_so():
    assert rules.match_typed("cafe", ["café"], tolerance=0, ignore_accents=True) == (True, False)
    assert rules.match_typed("cafe", ["café"], tolerance=0, ignore_accents=False) == (False, False)
    assert rules.match_typed("naïve", ["naive"], tolerance=0, ignore_accents=True) == (True, False)


def test_no_tolerance_means_exact_spelling():
    assert rules.match_typed("colur", ["colour"], tolerance=0, ignore_accents=True) == (False, False)


def test_a_typo_costs_its_penalty_and_keeps_the_streak_bonus():
    full = rules.points_for(points=1000, speed_points=False, elapsed=timedelta(0), limit=timedelta(seconds=20),
                            streak=2)
    slip = rules.points_for(points=1000, speed_points=False, elapsed=timedelta(0), limit=timedelta(seconds=20),
                            streak=2, penalty_percent=25)
    assert (full, slip) == (1100, 850)


def test_word_order_is_right_only_in_a_right_order():
    sentences = ["She has lived here since 2010.", "Since 2010 she has lived here."]
    assert rules.match_order("she has lived here since 2010.".split(), sentences)
    assert rules.match_order("Since 2010 she has lived here.".split(), sentences)
    assert not rules.match_order("She has here lived since 2010.".split(), sentences)
    # The tiles are the first sentence's words: the punctuation they carry does not count.
    assert rules.match_order("Since 2010. she has lived here".split(), sentences)


def test_listening_speed_counts_from_the_end_of_the_spoken_prompt():
    assert rules.speech_seconds("Could you turn the music down, please?") == pytest.approx(0.6 + 7 / 2.2)


@pytest.fixture
def played():
    """A session of every kind, a player, the question of `kind` open."""
    quiz = make_quiz_of_every_kind(time_limit=20)
    session = services.session_create(quiz=quiz, auto_advance=False)
    player = services.participant_join(code=session.code, nickname="ann")

    def open_question(kind: str) -> QuizSession:
        nonlocal session
        while True:
            session = open_next_question(session)
            if session.current_round.question.kind == kind:
                return session

    return session, player, open_question


def answer_and_close(session, player, **given) -> Answer:
    services.answer_submit(participant_id=player.pk, session_id=session.pk, **given)
    services.session_next(session_id=session.pk)  # the host closes it: scored
    return Answer.objects.get(participant=player, round=session.current_round)


def test_a_typed_answer_with_a_slip_is_right_with_fewer_points(played):
    session, player, open_question = played
    session = open_question(Kind.TYPED)
    answer = answer_and_close(session, player, text="  bougth ")
    assert (answer.text, answer.is_correct, answer.typo) == ("bougth", True, True)
    elapsed = answer.received_at - session.current_round.opened_at
    exact = rules.points_for(points=1000, speed_points=True, elapsed=elapsed, limit=timedelta(seconds=20), streak=1,
                             penalty_percent=25)
    assert answer.points == exact


def test_words_in_order_are_right_and_a_wrong_order_is_not(played):
    session, player, open_question = played
    session = open_question(Kind.ORDER)
    words = session.current_round.words
    right = "She has lived here since 2010.".split()
    assert sorted(words) == sorted(right) and words != right, "the tiles are dealt out of order"
    answer = answer_and_close(session, player, words=["She", "has", "lived", "here", "since", "2010."])
    assert answer.is_correct and answer.points > 0


def test_a_listening_question_gives_the_speech_its_time(played):
    session, player, open_question = played
    session = open_question(Kind.LISTEN)
    round_ = session.current_round
    assert round_.speech_seconds == pytest.approx(rules.speech_seconds(round_.question.prompt))
    assert round_.closes_at - round_.opened_at == timedelta(seconds=round_.speech_seconds + 20)
    right = round_.question.choices.get(is_correct=True)
    # Answered before the speech ended: full speed points (nothing the phone says counts).
    services.answer_submit(participant_id=player.pk, session_id=session.pk, choice_id=right.pk,
                           received_at=round_.opened_at + timedelta(seconds=1))
    services.session_next(session_id=session.pk)
    assert Answer.objects.get(round=round_).points == 1000


@pytest.mark.parametrize(("kind", "given", "code"), [
    (Kind.TYPED, {"choice_id": 1}, "bad_choice"),      # a choice for a typed question
    (Kind.CHOICE, {"text": "large"}, "bad_choice"),    # text for a choice question
    (Kind.TYPED, {"text": "   "}, "bad_text"),
    (Kind.TYPED, {"text": "x" * 201}, "bad_text"),
    (Kind.TYPED, {"text": ["bought"]}, "bad_text"),
    (Kind.ORDER, {"words": "She has lived"}, "bad_text"),
    (Kind.ORDER, {"words": ["She", 3]}, "bad_text"),
    (Kind.ORDER, {"words": []}, "bad_text"),
    (Kind.ORDER, {"words": ["w"] * 41}, "bad_text"),
    (Kind.ORDER, {"words": ["She"], "text": "She"}, "bad_text"),
])
def test_an_answer_that_does_not_fit_its_question_is_refused_and_stores_nothing(played, kind, given, code):
    session, player, open_question = played
    session = open_question(kind)
    with pytest.raises(services.AnswerRefused) as refused:
        services.answer_submit(participant_id=player.pk, session_id=session.pk, **given)
    assert refused.value.code == code
    assert not Answer.objects.exists()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_typed_and_ordered_answers_over_the_socket():
    quiz = await database_sync_to_async(make_quiz_of_every_kind)(time_limit=60)
    session = await database_sync_to_async(services.session_create)(quiz=quiz, auto_advance=False)
    cookie = await database_sync_to_async(joined_cookie)(session.code, "ann")
    other = await database_sync_to_async(joined_cookie)(session.code, "bob")  # connected, silent
    player = await connect(f"/ws/play/{session.code}", (b"cookie", cookie))
    silent = await connect(f"/ws/play/{session.code}", (b"cookie", other))
    try:
        for kind, message, shown in [
            (Kind.TYPED, {"text": "bought"}, "bought"),
            (Kind.ORDER, {"words": "She has lived here since 2010.".split()}, "She has lived here since 2010."),
        ]:
            while True:
                session = await database_sync_to_async(open_next_question)(session)
                if session.current_round.question.kind == kind:
                    break
            await receive_until(player, f"Question {session.current_round.index + 1} of 6")
            bad = {"text": 5} if kind == Kind.TYPED else {"words": "not a list"}
            await player.send_json_to({**bad, "round": session.current_round_id})
            assert "Answer locked in" not in await receive_until(player, 'id="flash"')
            await player.send_json_to({**message, "round": session.current_round_id})
            assert shown in await receive_until(player, "Answer locked in")
        answers = await database_sync_to_async(list)(Answer.objects.order_by("pk").values_list("text", flat=True))
        assert answers == ["bought", "She has lived here since 2010."]
    finally:
        await player.disconnect()
        await silent.disconnect()
