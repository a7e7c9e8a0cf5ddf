"""Clients as people and programs use the product: a browser's HTTP, WebSockets as htmx
opens them (or as a misbehaving client does, on a raw socket), Channels' communicator for
consumer tests, the metrics a scraper reads, and the frames' parts tests look at."""

from __future__ import annotations

import asyncio
import base64
import http.cookiejar
import json
import os
import re
import socket
import struct
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from .quizzes import correct_text

# --- HTTP and WebSockets ------------------------------------------------------------------------------

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Browser:
    """A cookie jar and plain urllib: what a phone's browser does over HTTP."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(self, method: str, path: str, data: dict | None = None, headers: dict | None = None,
                timeout: float = 15) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def csrf_token(self, path: str = "/") -> str:
        status, html = self.request("GET", path)
        assert status == 200, (status, html[:500])
        match = CSRF_INPUT.search(html)
        assert match, html[:2000]
        return match.group(1)

    def join(self, code: str, nickname: str) -> str:
        """POST /join like the home page's form; returns the /play page it lands on."""
        token = self.csrf_token("/")
        status, html = self.request("POST", "/join", {"code": code, "nickname": nickname,
                                                      "csrfmiddlewaretoken": token})
        assert status == 200 and 'id="stage"' in html, (status, html[:2000])
        return html

    def login(self, username: str, password: str) -> None:
        token = self.csrf_token("/admin/login/")
        status, html = self.request("POST", "/admin/login/?next=/admin/", {
            "username": username, "password": password, "csrfmiddlewaretoken": token, "next": "/admin/"})
        assert status == 200 and "Log out" in html, (status, html[:2000])

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def ws_connect(port: int, path: str, *, cookie: str | None = None, timeout: float = 10):
    """A WebSocket from outside, as a browser or a JSON client opens it (with an Origin)."""
    from websockets.sync.client import connect

    return connect(f"ws://127.0.0.1:{port}{path}", origin=f"http://127.0.0.1:{port}",
                   additional_headers={"Cookie": cookie} if cookie else None,
                   open_timeout=timeout, close_timeout=2, max_size=2**22, legacy=True)


def recv_until(ws, wanted, *, timeout: float = 15.0, what: str = "a frame") -> str:
    """Frames until one contains `wanted` (a string) or satisfies it (a callable)."""
    test = (lambda frame: wanted in frame) if isinstance(wanted, str) else wanted
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last frames: "
                                 + repr([f[:300] for f in seen[-5:]]))
        try:
            frame = ws.recv(timeout=left)
        except TimeoutError:
            continue
        seen.append(frame)
        if test(frame):
            return frame


def drain(ws, seconds: float = 0.2) -> list[str]:
    frames = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            frames.append(ws.recv(timeout=left))
        except TimeoutError:
            break
    return frames


STAGE_BUTTON = re.compile(r"hx-vals='\{\"choice\": \"(\d+)\", \"round\": \"(\d+)\"\}'>"
                          r"<span class=\"shape\" aria-hidden=\"true\"></span>([^<]*)</button>")


def stage_choices(frame: str) -> list[tuple[int, int, str]]:
    """(choice id, round id, text) of each button on an open question's player stage."""
    return [(int(c), int(r), text) for c, r, text in STAGE_BUTTON.findall(frame)]


def answer_message(choice_id: int, round_id: int) -> str:
    """What htmx's ws-send sends when a choice is tapped."""
    return json.dumps({"choice": str(choice_id), "round": str(round_id), "HEADERS": {"HX-Request": "true"}})




FLASH = re.compile(r'<div id="flash"[^>]*>([^<]*)</div>')


def flash_text(frame: str) -> str:
    """The message in a frame's #flash, or "" (a locked-in reply clears the flash)."""
    match = FLASH.search(frame)
    return match.group(1).strip() if match else ""


# --- Raw WebSockets: clients that misbehave at the TCP level ---------------------------------


def raw_ws_open(port: int, path: str, *, cookie: str | None = None, rcvbuf: int | None = None,
                timeout: float = 10) -> socket.socket:
    """A WebSocket opened by hand on a plain socket: the handshake is read, nothing more.

    With `rcvbuf`, the kernel's receive buffer is set small before connecting, as on a
    phone that stops reading: the server's writes back up once it is full."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    headers = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket", "Connection: Upgrade",
               f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13", f"Origin: http://127.0.0.1:{port}"]
    if cookie:
        headers.append(f"Cookie: {cookie}")
    sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = sock.recv(1)  # byte by byte: not one byte of the first frame is read
        if not chunk:
            raise ConnectionError(f"closed during the handshake: {response!r}")
        response += chunk
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


def raw_ws_send_text(sock, text: str) -> None:
    """One masked text frame, as a client must send it."""
    payload = text.encode()
    mask = os.urandom(4)
    header = bytes([0x81])
    if len(payload) < 126:
        header += bytes([0x80 | len(payload)])
    else:
        header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
    sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def raw_ws_reset(sock) -> None:
    """Close with a TCP reset (SO_LINGER 0): the server's next write to it fails."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def raw_ws_read_until_close(sock, *, timeout: float = 30) -> int | None:
    """Read frames until the server's close frame; its close code (None if the socket ends
    without one)."""
    sock.settimeout(timeout)
    buffer = b""

    def take(n: int) -> bytes:
        nonlocal buffer
        while len(buffer) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError
            buffer += chunk
        out, buffer = buffer[:n], buffer[n:]
        return out

    try:
        while True:
            first, second = take(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", take(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", take(8))[0]
            payload = take(length)
            if first & 0x0F == 0x8:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
    except (EOFError, ConnectionError):
        return None


def metric(port: int, name: str, **labels: str) -> float:
    """One sample from a web process's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    wanted = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{wanted} not in /metrics")


def signed_player_cookie(code: str, participant_id: int) -> str:
    """The cookie a browser holds after joining: made here as the server signs it (the test
    process and the servers it starts share settings), so hundreds of players need no form."""
    from django.contrib.sessions.backends.signed_cookies import SessionStore

    from quizzes.identity import remember_participant

    store = SessionStore()
    remember_participant(store, code, participant_id)
    store.save()
    return f"sessionid={store.session_key}"


class Listeners:
    """Many WebSockets read on one event loop in a thread, each frame's arrival timed."""

    def __init__(self, port: int):
        self.port = port
        self.arrivals: dict[str, list[float]] = {}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._sockets = []

    def open(self, name: str, path: str, cookie: str | None = None) -> None:
        asyncio.run_coroutine_threadsafe(self._open(name, path, cookie), self.loop).result(timeout=30)

    async def _open(self, name: str, path: str, cookie: str | None) -> None:
        from websockets.asyncio.client import connect

        ws = await connect(f"ws://127.0.0.1:{self.port}{path}", origin=f"http://127.0.0.1:{self.port}",
                           additional_headers={"Cookie": cookie} if cookie else None, max_size=2**22)
        self._sockets.append(ws)
        times = self.arrivals[name] = []

        async def read():
            try:
                async for _ in ws:
                    times.append(time.monotonic())
            except Exception:
                pass

        asyncio.get_running_loop().create_task(read())

    def close(self) -> None:
        async def close_all():
            await asyncio.gather(*(ws.close() for ws in self._sockets), return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def answer_on_phones(phones, number: int, total: int, *, right: int) -> None:
    """Each phone waits for question `number`; the first `right` tap the correct choice,
    the others a wrong one; each sees its answer locked in."""
    for n, phone in enumerate(phones):
        frame = recv_until(phone, f"Question {number} of {total}", what=f"question {number}")
        buttons = stage_choices(frame)
        pick = next(b for b in buttons if (b[2] == correct_text(number)) == (n < right))
        phone.send(answer_message(pick[0], pick[1]))
    for phone in phones:
        recv_until(phone, "Answer locked in", what="the answer locked in")


def join_phones(rig, port: int, code: str, count: int, prefix: str = "phone") -> list:
    phones = []
    for n in range(count):
        browser = Browser(f"http://127.0.0.1:{port}")
        browser.join(code, f"{prefix}{n}")
        phones.append(rig.socket(port, f"/ws/play/{code}", cookie=browser.cookie_header()))
        recv_until(phones[-1], 'id="stage"')
    return phones
