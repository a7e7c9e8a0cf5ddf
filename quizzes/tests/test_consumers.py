import asyncio
import json
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from elsa.asgi import application
from quizzes import selectors, services
from quizzes.models import Answer
from tests.support.communicators import ORIGIN, connect, joined_cookie, make_session, receive_until, staff_cookie
from tests.support.quizzes import correct_choice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
async def test_the_json_feed_sends_the_original_format_on_connect_and_on_every_change():
    session = await make_session()
    ann = await database_sync_to_async(services.participant_join)(code=session.code, nickname="ann")
    feed = await connect(f"/livescore/{session.code}")
    try:
        first = json.loads(await feed.receive_from(timeout=5))
        assert first == [{"PlayerID": "ann", "Score": 0.0, "Rank": 1}]
        await database_sync_to_async(services.session_next)(session_id=session.pk)
        choice = await database_sync_to_async(correct_choice)(session)
        answer = await database_sync_to_async(services.answer_submit)(
            participant_id=ann.pk, session_id=session.pk, choice_id=choice.pk
        )
        await database_sync_to_async(services.score_all_pending)()
        while True:
            frame = json.loads(await feed.receive_from(timeout=5))
            if frame[0]["Score"] > 0:
                break
        answer = await database_sync_to_async(Answer.objects.get)(pk=answer.pk)
        assert frame == [{"PlayerID": "ann", "Score": float(answer.points), "Rank": 1}]
    finally:
        await feed.disconnect()


async def test_the_html_leaderboard_is_pushed_as_an_htmx_fragment():
    session = await make_session()
    screen = await connect(f"/ws/livescore/{session.code}")
    try:
        assert 'id="leaderboard"' in await screen.receive_from(timeout=5)
        await database_sync_to_async(services.participant_join)(code=session.code, nickname="<i>bob</i>x")
    except services.JoinError:
        pass
    try:
        await database_sync_to_async(services.participant_join)(code=session.code, nickname="bob")
        frame = await receive_until(screen, "bob")
        assert frame.startswith('<section id="leaderboard"')
        assert "1 player" in frame
    finally:
        await screen.disconnect()


async def test_a_player_answers_over_the_socket_and_sees_it_locked_in_then_the_result():
    session = await make_session()
    cookie = await database_sync_to_async(joined_cookie)(session.code, "ann")
    player = await connect(f"/ws/play/{session.code}", (b"cookie", cookie))
    try:
        assert "You're in" in await receive_until(player, 'id="stage"')
        await database_sync_to_async(services.session_next)(session_id=session.pk)
        question = await receive_until(player, "Question 1 of 2")
        choice = await database_sync_to_async(correct_choice)(session)
        assert 'class="is-correct"' not in question and "correct" not in question.lower()
        await player.send_to(text_data=json.dumps({"choice": str(choice.pk), "HEADERS": {"HX-Request": "true"}}))
        locked = await receive_until(player, "locked in")
        assert choice.text in locked
        await player.send_to(text_data=json.dumps({"choice": str(choice.pk)}))
        assert "already locked in" in await receive_until(player, "flash")
        await database_sync_to_async(services.session_next)(session_id=session.pk)
        reveal = await receive_until(player, 'id="my-result"')
        answer = await database_sync_to_async(Answer.objects.get)()
        assert "Correct!" in reveal and "The answer:" in reveal
        assert f'<span id="my-score">{answer.points}</span>' in reveal
    finally:
        await player.disconnect()


@pytest.mark.parametrize(
    "message",
    ["not json", "[]", "{}", '{"choice": null}', '{"choice": "abc"}', json.dumps({"choice": "1", "x": "y" * 5000})],
)
async def test_bad_messages_get_a_clear_error_and_store_nothing(message):
    session = await make_session()
    cookie = await database_sync_to_async(joined_cookie)(session.code, "ann")
    await database_sync_to_async(services.session_next)(session_id=session.pk)
    player = await connect(f"/ws/play/{session.code}", (b"cookie", cookie))
    try:
        await receive_until(player, 'id="stage"')
        await player.send_to(text_data=message)
        frame = await receive_until(player, 'id="flash"')
        assert "not understood" in frame or "not one of the choices" in frame
        assert await database_sync_to_async(Answer.objects.count)() == 0
    finally:
        await player.disconnect()


async def test_a_socket_without_a_joined_participant_is_refused():
    session = await make_session()
    communicator = WebsocketCommunicator(application, f"/ws/play/{session.code}", headers=[ORIGIN])
    connected, _ = await communicator.connect(timeout=5)
    assert not connected


async def test_a_foreign_origin_is_refused_and_a_missing_one_on_a_pages_socket():
    session = await make_session()
    # The JSON feed serves clients without Origin (test_security); a page's socket does not.
    for path, headers in ((f"/livescore/{session.code}", [(b"origin", b"http://evil.example")]),
                          (f"/ws/livescore/{session.code}", [(b"origin", b"http://evil.example")]),
                          (f"/ws/livescore/{session.code}", [])):
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await communicator.connect(timeout=5)
        assert not connected


async def test_the_host_socket_needs_a_staff_login_and_sees_players_arrive():
    session = await make_session()
    anonymous = WebsocketCommunicator(application, f"/ws/host/{session.code}", headers=[ORIGIN])
    assert not (await anonymous.connect(timeout=5))[0]
    cookie = await database_sync_to_async(staff_cookie)()
    host = await connect(f"/ws/host/{session.code}", (b"cookie", cookie))
    try:
        assert session.code in await receive_until(host, 'id="stage"')
        await database_sync_to_async(services.participant_join)(code=session.code, nickname="carol")
        roster = await receive_until(host, 'id="roster"')
        assert "carol" in roster
    finally:
        await host.disconnect()


async def test_an_unknown_code_is_refused():
    communicator = WebsocketCommunicator(application, "/livescore/ZZZZZZ", headers=[ORIGIN])
    assert not (await communicator.connect(timeout=5))[0]


async def test_a_flood_of_messages_is_slowed_then_cut_off_and_stores_nothing():
    session = await make_session()
    cookie = await database_sync_to_async(joined_cookie)(session.code, "ann")
    player = await connect(f"/ws/play/{session.code}", (b"cookie", cookie))
    try:
        await receive_until(player, 'id="stage"')
        for _ in range(60):
            await player.send_to(text_data='{"choice": "nope"}')
        assert "Slow down" in await receive_until(player, "Slow down")
        while True:
            output = await player.receive_output(timeout=5)
            if output["type"] == "websocket.close":
                break
        assert output["code"] == 1008
        assert await database_sync_to_async(Answer.objects.count)() == 0
    finally:
        await player.disconnect()


async def test_a_message_cannot_answer_as_someone_else_or_set_its_own_time():
    session = await make_session()
    ann_cookie = await database_sync_to_async(joined_cookie)(session.code, "ann")
    bob_cookie = await database_sync_to_async(joined_cookie)(session.code, "bob")
    await database_sync_to_async(services.session_next)(session_id=session.pk)
    ann = await connect(f"/ws/play/{session.code}", (b"cookie", ann_cookie))
    try:
        await receive_until(ann, 'id="stage"')
        from quizzes.models import Participant

        bob = await database_sync_to_async(Participant.objects.get)(nickname="bob")
        choice = await database_sync_to_async(correct_choice)(session)
        await ann.send_to(text_data=json.dumps({
            "choice": str(choice.pk), "participant": bob.pk, "participant_id": bob.pk,
            "received_at": "2000-01-01T00:00:00Z", "time": 0, "elapsed": 0,
        }))
        await receive_until(ann, "locked in")
        answer = await database_sync_to_async(Answer.objects.select_related("participant", "round").get)()
        assert answer.participant.nickname == "ann"
        assert answer.received_at > answer.round.opened_at
    finally:
        await ann.disconnect()
    assert bob_cookie


async def test_a_big_screen_connecting_after_a_stage_change_gets_that_stage_without_a_query(monkeypatch):
    session = await make_session()
    first = await connect(f"/ws/livescore/{session.code}")
    try:
        await receive_until(first, 'id="screen-status"')
        await database_sync_to_async(services.session_next)(session_id=session.pk)
        await receive_until(first, "Question 1 of 2")
        reads = []
        real = selectors.session_by_code
        monkeypatch.setattr(selectors, "session_by_code", lambda code: reads.append(code) or real(code))
        second = await connect(f"/ws/livescore/{session.code}")
        try:
            snapshot = await receive_until(second, 'id="screen-status"')
            assert "Question 1 of 2" in snapshot
            assert reads == [], "the panel comes from the room's last stage change"
        finally:
            await second.disconnect()
    finally:
        await first.disconnect()


async def test_screens_connecting_before_any_stage_change_read_the_session_once(monkeypatch):
    session = await make_session()
    reads = []
    real = selectors.session_by_code
    monkeypatch.setattr(selectors, "session_by_code", lambda code: reads.append(code) or real(code))
    screens = []
    try:
        for _ in range(3):  # a room of big screens and feeds in the lobby: a connect burst
            screens.append(await connect(f"/ws/livescore/{session.code}"))
            assert "Waiting to start" in await receive_until(screens[-1], 'id="screen-status"')
        # The first screen finds the board, then reads its panel; the others read nothing:
        # the process remembers the board, and the room keeps the first screen's panel.
        assert reads == [session.code, session.code]
        await database_sync_to_async(services.session_next)(session_id=session.pk)
        await receive_until(screens[0], "Question 1 of 2")
        late = await connect(f"/ws/livescore/{session.code}")
        screens.append(late)
        assert "Question 1 of 2" in await receive_until(late, 'id="screen-status"')  # never the kept lobby
    finally:
        for screen in screens:
            await screen.disconnect()


async def test_a_busy_shared_sync_thread_holds_up_no_players_socket():
    """Django's sync code shares one thread (sync_to_async's default): a slow call there,
    anyone's, must not stand between a player and "locked in"."""
    session = await make_session()
    cookie = await database_sync_to_async(joined_cookie)(session.code, "ann")
    await database_sync_to_async(services.session_next)(session_id=session.pk)
    choice = await database_sync_to_async(correct_choice)(session)
    release = threading.Event()
    busy = asyncio.ensure_future(sync_to_async(release.wait)(30))  # the shared thread, held
    player = await connect(f"/ws/play/{session.code}", (b"cookie", cookie))
    try:
        await receive_until(player, "Question 1 of 2")
        await player.send_to(text_data=json.dumps({"choice": str(choice.pk)}))
        assert choice.text in await receive_until(player, "locked in")
        assert not busy.done()
    finally:
        release.set()
        await busy
        await player.disconnect()
