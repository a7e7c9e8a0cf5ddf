"""Load-generator clients: players join over HTTP like a browser, then live on a WebSocket."""

import asyncio
import http.cookiejar
import json
import random
import re
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import websockets

QUESTION = re.compile(r"Question (\d+) of")
CHOICE = re.compile(r'"choice": "(\d+)", "round": "(\d+)"')
VERSION = re.compile(r'id="leaderboard" class="leaderboard" data-version="(\d+)"')
MY_SCORE = re.compile(r'<span id="my-score">(\d+)</span>')
ROW = re.compile(r'<span class="rank">(\d+)</span><span class="name">([^<]*)</span><span class="score">(\d+)</span>')


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def csrf_for(url: str) -> tuple[str, str]:
    """One CSRF cookie and form token serve every join (the token is not tied to a session)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(url + "/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    cookie = next(c.value for c in jar if c.name == "csrftoken")
    return cookie, token


def join(url: str, code: str, nickname: str, csrf: tuple[str, str]) -> str:
    """POST /join as the browser form does; returns the session cookie that identifies the player."""
    cookie, token = csrf
    body = urllib.parse.urlencode({"code": code, "nickname": nickname, "csrfmiddlewaretoken": token}).encode()
    headers = {"Cookie": f"csrftoken={cookie}", "Referer": url + "/"}
    request = urllib.request.Request(url + "/join", data=body, headers=headers)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(request, timeout=60)
    except urllib.error.HTTPError as response:
        if response.code != 302:
            raise RuntimeError(f"join {nickname}: HTTP {response.code}") from None
        for header, value in response.headers.items():
            if header.lower() == "set-cookie" and value.startswith("sessionid="):
                return value.split(";", 1)[0]
    raise RuntimeError(f"join {nickname}: no session cookie")


def join_many(url: str, code: str, nicknames: list[str], *, threads: int = 32) -> list[str]:
    csrf = csrf_for(url)
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda n: join(url, code, n, csrf), nicknames))


@dataclass
class Client:
    """One socket: a player (answers, sees lock-in and scores) or a viewer of a leaderboard."""

    url: str
    cookie: str = ""
    nickname: str = ""
    answer: bool = False
    spread: float = 10.0
    correct: dict = field(default_factory=dict)  # round id -> correct choice id, shared by the harness
    accuracy: float = 0.7
    connected_at: float | None = None
    snapshot_at: float | None = None
    failed: str | None = None
    questions: dict = field(default_factory=dict)  # question number -> receive time
    sent_at: float | None = None
    locked_at: float | None = None
    versions: list = field(default_factory=list)  # (version, receive time), first sight of each
    last_board: str = ""
    my_score: int | None = None
    frames: int = 0
    json_feed: bool = False

    async def run(self, stop: asyncio.Event, origin: str) -> None:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        try:
            async with websockets.connect(
                self.url, origin=origin, additional_headers=headers, compression=None,
                open_timeout=60, max_size=2**22, ping_interval=None,
            ) as socket:
                self.connected_at = time.time()
                receiver = asyncio.create_task(self._receive(socket))
                await stop.wait()
                receiver.cancel()
        except Exception as error:  # counted and reported: a refused or dropped connect
            self.failed = f"{type(error).__name__}: {error}"

    async def _receive(self, socket) -> None:
        async for frame in socket:
            now = time.time()
            self.frames += 1
            self.snapshot_at = self.snapshot_at or now
            if self.json_feed:
                message = json.loads(frame)
                self._saw_version(message["v"], now)
                self.last_board = frame
                continue
            if 'id="stage"' in frame:
                match = QUESTION.search(frame)
                choices = CHOICE.findall(frame)
                if match and choices:
                    number = int(match.group(1))
                    self.questions.setdefault(number, now)
                    if self.answer and self.sent_at is None:
                        asyncio.get_running_loop().create_task(self._answer(socket, choices))
            if 'id="choices-area"' in frame and "locked in" in frame and self.locked_at is None:
                self.locked_at = now
            match = VERSION.search(frame)
            if match:
                self._saw_version(int(match.group(1)), now)
                self.last_board = frame[match.start():]
            scores = MY_SCORE.findall(frame)
            if scores:
                self.my_score = int(scores[-1])

    def _saw_version(self, version: int, now: float) -> None:
        if not self.versions or version > self.versions[-1][0]:
            self.versions.append((version, now))

    async def _answer(self, socket, choices: list[tuple[str, str]]) -> None:
        await asyncio.sleep(random.uniform(0.05, self.spread))
        round_id = choices[0][1]
        right = self.correct.get(int(round_id))
        if right and random.random() < self.accuracy:
            choice = str(right)
        else:
            choice = random.choice(choices)[0]
        self.sent_at = time.time()
        await socket.send(json.dumps({"choice": choice, "round": round_id}))

    def first_seen(self, version: int) -> float | None:
        """When this client first received a leaderboard at `version` or later."""
        import bisect

        index = bisect.bisect_left(self.versions, (version, 0.0))
        return self.versions[index][1] if index < len(self.versions) else None

    def board_rows(self) -> list[tuple[int, str, int]]:
        if self.json_feed:
            return [(r["Rank"], r["PlayerID"], int(r["Score"])) for r in json.loads(self.last_board)["board"]]
        import html

        return [(int(rank), html.unescape(name), int(score)) for rank, name, score in ROW.findall(self.last_board)]


async def connect_all(
    clients: list[Client], origin: str, stop: asyncio.Event, *, per_second: float | None = None
) -> list[asyncio.Task]:
    tasks = []
    for n, client in enumerate(clients):
        tasks.append(asyncio.create_task(client.run(stop, origin)))
        if per_second and n % 50 == 49:
            await asyncio.sleep(50 / per_second)
    return tasks


async def wait_connected(clients: list[Client], timeout: float) -> None:
    """Until every socket is open and has its snapshot (or failed): a steady room."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(c.snapshot_at or c.failed for c in clients):
            return
        await asyncio.sleep(0.05)
