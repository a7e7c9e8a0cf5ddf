"""No one client can hurt the others, and bad input changes nothing (issue 8, items 6 to 9).

Each test here failed on the code before the fix it names; docs/security.md lists them.
"""

import json
import os
import subprocess
import sys

import pytest
import redis
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

import quizzes.consumers
from elsa.asgi import application
from elsa.processes import ROOT
from quizzes import partials, selectors, services
from quizzes.models import Answer
from tests.support.communicators import (
    ORIGIN,
    joined_cookie,
    logged_in,
    make_session,
    player_client,
    receive_until,
    staff_cookie,
)
from tests.support.quizzes import correct_choice, make_host, make_quiz

# --- 6. WebSocket limits per participant and per address --------------------------------


def socket(path: str, *headers, address: str | None = None) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN, *headers])
    if address:
        communicator.scope["client"] = (address, 40000)
    return communicator


async def closed_with(communicator, timeout: float = 5.0) -> int:
    """The close code the server sent, skipping frames."""
    while True:
        output = await communicator.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            return output.get("code", 1000)


async def still_answers(player) -> bool:
    await player.send_to(text_data='{"choice": "nope"}')
    return "not one of the choices" in await receive_until(player, "not one of the choices")


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_one_participant_keeps_at_most_three_sockets_and_the_newest_win():
    session = await make_session()
    cookie = await database_sync_to_async(joined_cookie)(session.code, "ann")
    opened = []
    try:
        for _ in range(5):
            player = socket(f"/ws/play/{session.code}", (b"cookie", cookie))
            assert (await player.connect(timeout=5))[0]
            opened.append(player)
        assert [await closed_with(p) for p in opened[:2]] == [4409, 4409]
        for player in opened[2:]:
            assert await still_answers(player)
    finally:
        for player in opened:
            await player.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_message_budget_is_the_participants_not_each_sockets(settings):
    settings.ELSA = {**settings.ELSA, "WS_MESSAGES_PER_SECOND": 0.01, "WS_MESSAGE_BURST": 4}  # per participant
    session = await make_session()
    cookie = await database_sync_to_async(joined_cookie)(session.code, "ann")
    first, second = (socket(f"/ws/play/{session.code}", (b"cookie", cookie)) for _ in range(2))
    try:
        for player in (first, second):
            await player.connect(timeout=5)
            await receive_until(player, 'id="stage"')
        for player in (first, second, first, second):
            assert await still_answers(player)
        await second.send_to(text_data='{"choice": "nope"}')  # the 5th message, on another socket
        assert "Slow down" in await receive_until(second, "Slow down")
    finally:
        await first.disconnect()
        await second.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_one_address_shares_one_message_budget_across_participants(settings):
    settings.ELSA = {**settings.ELSA, "WS_ADDRESS_MESSAGES_PER_SECOND": 0.01, "WS_ADDRESS_MESSAGE_BURST": 3}
    session = await make_session()
    players = []
    try:
        for name in ("ann", "bob"):
            cookie = await database_sync_to_async(joined_cookie)(session.code, name)
            player = socket(f"/ws/play/{session.code}", (b"cookie", cookie), address="203.0.113.5")
            await player.connect(timeout=5)
            await receive_until(player, 'id="stage"')
            players.append(player)
        assert await still_answers(players[0]) and await still_answers(players[0])
        assert await still_answers(players[1])
        await players[1].send_to(text_data='{"choice": "nope"}')
        assert "Slow down" in await receive_until(players[1], "Slow down")
    finally:
        for player in players:
            await player.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_an_address_may_hold_only_so_many_sockets(settings):
    settings.ELSA = {**settings.ELSA, "WS_SOCKETS_PER_ADDRESS": 2}
    session = await make_session()
    screens = [socket(f"/ws/livescore/{session.code}", address="203.0.113.5") for _ in range(3)]
    elsewhere = socket(f"/ws/livescore/{session.code}", address="198.51.100.7")
    try:
        assert [(await s.connect(timeout=5))[0] for s in screens] == [True, True, False]
        assert (await elsewhere.connect(timeout=5))[0]
        await screens[0].disconnect()
        again = socket(f"/ws/livescore/{session.code}", address="203.0.113.5")
        assert (await again.connect(timeout=5))[0]  # a closed socket frees its place
        await again.disconnect()
    finally:
        for s in (*screens[1:], elsewhere):
            await s.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_refused_messages_cost_no_database_query(monkeypatch):
    session = await make_session()
    cookie = await database_sync_to_async(joined_cookie)(session.code, "ann")
    await database_sync_to_async(services.session_next)(session_id=session.pk)
    choice = await database_sync_to_async(correct_choice)(session)
    player = socket(f"/ws/play/{session.code}", (b"cookie", cookie))
    await player.connect(timeout=5)
    await receive_until(player, 'id="stage"')
    calls = []
    real_db = quizzes.consumers.db
    monkeypatch.setattr(quizzes.consumers, "db", lambda f: calls.append(f.__name__) or real_db(f))
    answers_in = quizzes.consumers.answers_in  # answers are stored in batches, each one database call
    real_batch = answers_in.run_many
    monkeypatch.setattr(answers_in, "run_many", lambda items: calls.append("answers_submit") or real_batch(items))
    try:
        answer = json.dumps({"choice": str(choice.pk), "round": str(session.current_round_id)})
        await player.send_to(text_data=answer)
        await receive_until(player, "locked in")
        assert calls == ["answers_submit"]
        for _ in range(8):  # the same answer again, then past the budget
            await player.send_to(text_data=answer)
        assert "already locked in" in await receive_until(player, "already locked in")
        await receive_until(player, "Slow down")
        assert calls == ["answers_submit"]
    finally:
        await player.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("path, cookie", [("/ws/livescore/{code}", None), ("/livescore/{code}", None),
                                          ("/ws/host/{code}", "staff")])
async def test_sockets_that_only_listen_are_closed_on_any_message(path, cookie):
    session = await make_session()
    headers = [(b"cookie", await database_sync_to_async(staff_cookie)())] if cookie else []
    listener = socket(path.format(code=session.code), *headers)
    try:
        assert (await listener.connect(timeout=5))[0]
        await listener.receive_from(timeout=5)  # the snapshot
        await listener.send_to(text_data='{"choice": "1"}')
        assert await closed_with(listener) == 1008
    finally:
        await listener.disconnect()


# --- 7. Look-alike and invisible nicknames -------------------------------------------------


def join_as(session, nickname: str):
    return Client().post("/join", {"code": session.code, "nickname": nickname})


@pytest.mark.parametrize("first, lookalike", [
    ("Anna", "\u0410nna"),  # Cyrillic А
    ("Anna", "\u0391nna"),  # Greek Α
    ("Anna", "\uff21nna"),  # fullwidth Ａ
    ("Anna", "\U0001d400nna"),  # mathematical bold 𝐀
    ("Liam", "L\u0131am"),  # dotless ı
    ("Minh", "\u041cinh"),  # Cyrillic М
    ("minh", "m\u0456nh"),  # Cyrillic і
    ("O'Brien", "0'Brien"),  # digit zero
])
def test_a_nickname_that_looks_like_one_already_in_the_session_is_refused(quiz_session, first, lookalike):
    assert join_as(quiz_session, first).status_code == 302
    response = join_as(quiz_session, lookalike)
    assert response.status_code == 400 and "looks the same" in response.content.decode()
    assert list(quiz_session.participants.values_list("nickname", flat=True)) == [first]


@pytest.mark.django_db
def test_the_same_lookalike_may_play_in_another_session():
    one, two = (services.session_create(quiz=make_quiz(questions=1)) for _ in range(2))
    assert join_as(one, "Anna").status_code == 302 and join_as(two, "\u0410nna").status_code == 302


@pytest.mark.parametrize("nickname", ["\u3164", "\u115f", "\u1160", "\uffa0", "\u3164\u3164 \u3164",
                                      "Minh\u3164", "\u115fMinh", "Mi\u200bnh", "\u2800"])
def test_invisible_and_filler_nicknames_are_refused(quiz_session, nickname):
    response = join_as(quiz_session, nickname)
    assert response.status_code == 400
    assert not quiz_session.participants.exists()


def test_nicknames_are_stored_in_nfkc(quiz_session):
    assert join_as(quiz_session, "\uff2a\uff4f\uff45 \U0001d5e5").status_code == 302  # Ｊｏｅ 𝗥
    assert quiz_session.participants.get().nickname == "Joe R"


def test_a_nickname_is_capped_by_bytes_as_well_as_characters(quiz_session):
    long_astral = "\U00020000" * 24  # 24 characters, 96 bytes
    response = join_as(quiz_session, long_astral)
    assert response.status_code == 400 and "too long" in response.content.decode()
    assert join_as(quiz_session, "\U00020000" * 12).status_code == 302  # 48 bytes
    assert join_as(quiz_session, "Nguyễn Thu-Hà O'Brien").status_code == 302


# --- 8. Small holes -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("message", ["[" * 2000 + "]" * 2000, '{"choice": ' + "[" * 1900 + "]" * 1900 + "}",
                                     "[" * 4000])
async def test_a_deeply_nested_message_is_not_understood_and_changes_nothing(message):
    session = await make_session()
    cookie = await database_sync_to_async(joined_cookie)(session.code, "ann")
    player = socket(f"/ws/play/{session.code}", (b"cookie", cookie))
    try:
        await player.connect(timeout=5)
        await receive_until(player, 'id="stage"')
        assert len(message) <= 4096  # within the message size cap: parsed, not cut off
        await player.send_to(text_data=message)
        assert "not understood" in await receive_until(player, "not understood")
        assert await still_answers(player)  # the socket lives on
        assert await database_sync_to_async(Answer.objects.count)() == 0
    finally:
        await player.disconnect()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/livescore/AB%00CD", "/qr/AB%00CD.svg", "/play/AB%00CD", "/host/AB%00CD",
                                  "/host/AB%00CD/next", "/livescore/%00%00%00%00%00%00"])
def test_a_nul_byte_in_a_code_is_a_404(admin_client, path):
    response = admin_client.post(path) if path.endswith("/next") else admin_client.get(path)
    assert response.status_code == 404


@pytest.mark.django_db
def test_a_nul_byte_in_a_code_reaching_a_service_or_selector_is_refused_cleanly(client):
    with pytest.raises(services.JoinError):
        services.participant_join(code="AB\x00CDE", nickname="Ann")
    assert selectors.session_by_code("AB\x00CDE") is None
    assert selectors.participant_in(participant_id=1, code="AB\x00CDE") is None
    assert client.post("/join", {"code": "AB\x00CD", "nickname": "Ann"}).status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/livescore/{code}", "/qr/{code}.svg"])
def test_guessing_codes_through_public_pages_is_throttled_per_address(quiz_session, page):
    guesser, other = Client(REMOTE_ADDR="203.0.113.44"), Client(REMOTE_ADDR="198.51.100.44")
    assert [guesser.get(page.format(code=f"ZZZZ{n:02d}")).status_code for n in range(20)] == [404] * 20
    assert guesser.get(page.format(code=quiz_session.code)).status_code == 429  # no oracle past the budget
    assert other.get(page.format(code=quiz_session.code)).status_code == 200


def forget_guesses() -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(*client.keys("elsa:guesses:*"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["/ws/livescore/{code}", "/livescore/{code}"])
async def test_guessing_codes_through_public_sockets_is_throttled_per_address(settings, path):
    settings.ELSA = {**settings.ELSA, "JOIN_GUESSES_PER_MINUTE": 3}
    session = await make_session()
    for _ in range(2):  # the second time, the process remembers the code: no oracle either way
        codes = []
        for code in ["ZZZZ01", "ZZZZ02", "ZZZZ03", session.code]:
            guess = socket(path.format(code=code), address="203.0.113.45")
            accepted, close_code = await guess.connect(timeout=5)
            codes.append(close_code)
            if accepted:
                await guess.disconnect()
        assert codes == [4404, 4404, 4404, 4429]
        honest = socket(path.format(code=session.code), address="198.51.100.45")
        assert (await honest.connect(timeout=5))[0]
        await honest.disconnect()
        await database_sync_to_async(forget_guesses)()  # as in the next minute


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("origin", ["http://127.0.0.1:9999", "https://127.0.0.1:8000", "http://127.0.0.1",
                                    "http://evil.example", "null", "http://127.0.0.1:8000.evil.example"])
async def test_every_socket_refuses_an_origin_of_another_scheme_host_or_port(origin):
    session = await make_session()
    cookie = await database_sync_to_async(joined_cookie)(session.code, "ann")
    for path in (f"/ws/play/{session.code}", f"/ws/livescore/{session.code}", f"/livescore/{session.code}"):
        communicator = WebsocketCommunicator(application, path, headers=[(b"origin", origin.encode()),
                                                                          (b"cookie", cookie)])
        assert not (await communicator.connect(timeout=5))[0], (path, origin)


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_without_inline_script_or_style(client, quiz_session):
    for path in ("/", f"/livescore/{quiz_session.code}"):
        policy = client.get(path)["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
        assert "unsafe" not in policy


@pytest.mark.django_db
def test_no_template_or_fragment_carries_an_inline_style_or_script(client, quiz_session):
    host = make_host("host")
    quiz_session.host = host
    quiz_session.save()
    services.participant_join(code=quiz_session.code, nickname="Ann")
    for _ in range(2):  # open, then close: the distribution with its bars
        services.session_next(session_id=quiz_session.pk)
    quiz_session.refresh_from_db()
    pages = [logged_in(host).get(f"/host/{quiz_session.code}").content.decode(),
             partials.host_stage(selectors.host_view(quiz_session)),
             client.get("/").content.decode()]
    assert 'class="bar" data-percent="' in pages[0]
    for html in pages:
        assert "style=" not in html and "<style" not in html
        assert all("src=" in tag for tag in html.split("<script")[1:])


def test_https_turns_on_secure_cookies_hsts_and_the_redirect():
    code = """
from django.test import Client
secure = Client().get("/", secure=True)
plain = Client().get("/")
health = Client().get("/healthz")
print(secure["Strict-Transport-Security"], secure.cookies["csrftoken"]["secure"], plain.status_code, plain["Location"],
      health.status_code, sep="|")
"""
    base = {k: v for k, v in os.environ.items() if k not in ("HTTPS", "HSTS_SECONDS")}
    done = subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + code], cwd=ROOT,
                          env={**base, "HTTPS": "1", "ALLOWED_HOSTS": "testserver",
                               "DJANGO_SETTINGS_MODULE": "elsa.settings"},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    hsts, secure_cookie, plain_status, location, health = done.stdout.strip().split("|")
    assert hsts == "max-age=31536000; includeSubDomains"
    assert secure_cookie == "True"
    assert plain_status == "301" and location.startswith("https://")
    assert health == "200"  # the healthchecks reach replicas over plain HTTP inside the network


# --- 9. The JSON feed serves API clients that send no Origin -----------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_json_feed_serves_a_client_without_origin_and_page_sockets_do_not():
    session = await make_session()
    await database_sync_to_async(services.participant_join)(code=session.code, nickname="ann")
    feed = WebsocketCommunicator(application, f"/livescore/{session.code}", headers=[])
    assert (await feed.connect(timeout=5))[0]
    assert json.loads(await feed.receive_from(timeout=5)) == [{"PlayerID": "ann", "Score": 0.0, "Rank": 1}]
    await feed.disconnect()
    cookie = await database_sync_to_async(joined_cookie)(session.code, "bob")
    for path in (f"/ws/play/{session.code}", f"/ws/livescore/{session.code}"):
        page_socket = WebsocketCommunicator(application, path, headers=[(b"cookie", cookie)])
        assert not (await page_socket.connect(timeout=5))[0], path


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_pages_run_under_their_content_security_policy_in_chromium(live_server_url, browser, screenshots):
    host = make_host("host")
    session = services.session_create(quiz=make_quiz(questions=2, time_limit=60), host=host, auto_advance=False)
    ann = services.participant_join(code=session.code, nickname="Ann")
    violations = []

    def page_for(cookie_client, path):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        if cookie_client is not None:
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server_url,
                                  "value": cookie_client.cookies[settings.SESSION_COOKIE_NAME].value}])
        page = context.new_page()
        page.on("console", lambda message: violations.append(message.text)
                if "Content Security Policy" in message.text or "Refused to" in message.text else None)
        page.goto(live_server_url + path)
        return page

    host_page = page_for(logged_in(host), f"/host/{session.code}")
    phone = page_for(player_client(session, ann), f"/play/{session.code}")
    screen = page_for(None, f"/livescore/{session.code}")
    host_page.wait_for_selector(".big-code")
    phone.wait_for_selector("text=You're in as")

    host_page.click(".host-action button")  # htmx's hx-post, under the policy
    phone.wait_for_selector("button.choice")
    phone.click(f"button.choice:has-text('{correct_choice(session).text}')")  # htmx's ws-send
    # Locked in, or already past it: the only player answered, so the question closes by
    # itself (the reveal can replace "locked in" before a look at the page) and the host
    # sees the bars.
    phone.wait_for_selector(".locked, #my-result .right")
    host_page.wait_for_selector(".distribution .bar[data-percent='100']")
    width = host_page.eval_on_selector(".distribution .bar[data-percent='100']", "bar => bar.style.width")
    assert width == "100%"  # sized by live.js, not an inline style attribute
    screen.wait_for_selector("#leaderboard .name:has-text('Ann')")
    screenshots(host_page, "csp-host-distribution")
    assert violations == []

    # And markup that got into a page anyway runs nothing (test_hostile.py shows it would).
    screen.evaluate("html => { const d = document.createElement('div'); d.innerHTML = html; document.body.append(d); }",
                    '<img src=x onerror="window.__xss = 1">')
    screen.wait_for_timeout(500)
    assert screen.evaluate("typeof window.__xss") == "undefined"
    assert any("inline event handler" in v for v in violations)
