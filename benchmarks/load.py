"""The load generator: WebSocket clients in their own processes, cheap per frame.

`python -m benchmarks.load --port P` is one generator process: one event loop holding
thousands of picows sockets (a Cython WebSocket client). Per frame a socket takes a
timestamp and does a few bytes searches (the board version, a question, "locked in", its
own score); it keeps the last leaderboard frame as bytes and parses it once, when the
harness asks for the results, for the exactness check. The harness (`Load`) starts
several such processes and drives them over a JSON-lines control socket, so the clients
share neither a process nor the GIL with the harness, and their CPU is measured apart.
"""

import argparse
import asyncio
import html
import json
import random
import re
import time

from picows import WSListener, WSMsgType, ws_connect

from elsa.processes import PYTHON, Process, free_port, ready_when_listening

VERSION = b'data-version="'  # the product's leaderboard fragment and the bare server's frame
FEED_VERSION = b'{"v": '  # the naive baseline's JSON feed
QUESTION = re.compile(rb"Question (\d+) of")
CHOICE = re.compile(rb'"choice": "(\d+)", "round": "(\d+)"')
MY_SCORE = b'<span id="my-score">'
ROW = re.compile(rb'<span class="rank">(\d+)</span><span class="name">([^<]*)</span><span class="score">(\d+)</span>')
CORRECT = 1  # the benchmark's quizzes make every question's second choice the right one
ACCURACY = 0.7


class Socket(WSListener):
    """One client: a player, who answers the first question it sees, or a viewer."""

    def __init__(self, url: str, spread: float):
        self.url = url
        self.spread = spread  # answer within this many seconds of the question; 0: never
        self.offered_at = time.time()  # when the generator started to open it
        self.transport = None
        self.connected_at = self.snapshot_at = self.sent_at = self.locked_at = None
        self.failed = self.dropped = None
        self.closing = False
        self.frames = 0
        self.questions: dict[int, float] = {}
        self.versions: list[tuple[int, float]] = []  # each newer board version, when first seen
        self.last_board = b""
        self.my_score: int | None = None
        self.partial: bytes | None = None

    def on_ws_connected(self, transport) -> None:
        self.transport = transport
        self.connected_at = time.time()

    def on_ws_frame(self, transport, frame) -> None:
        now = time.time()
        kind = frame.msg_type
        if kind is WSMsgType.CLOSE:
            self.dropped = self.dropped or f"closed by the server: {frame.get_close_code()}"
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if kind is WSMsgType.PONG:
            return
        data = frame.get_payload_as_bytes()
        if not frame.fin:  # a message in several frames: keep until its last
            self.partial = (self.partial or b"") + data
            return
        if self.partial is not None:
            data, self.partial = self.partial + data, None
        self.frames += 1
        if self.snapshot_at is None:
            self.snapshot_at = now
        if data.startswith(FEED_VERSION):
            self.saw(int(data[6:data.index(b",", 6)]), now)
            self.last_board = data
            return
        at = data.find(VERSION)
        if at >= 0:
            self.saw(int(data[at + 14:data.index(b'"', at + 14)]), now)
            self.last_board = data
            if at < 64:  # a tick's frame, most frames: the board alone, nothing else to find
                return
        if b'id="stage"' in data:
            self.stage(data, now)
        if self.sent_at and self.locked_at is None and b"locked in" in data:
            self.locked_at = now
        at = data.rfind(MY_SCORE)
        if at >= 0:
            self.my_score = int(data[at + 20:data.index(b"<", at + 20)])

    def on_ws_disconnected(self, transport) -> None:
        if not self.closing:
            self.dropped = self.dropped or "disconnected"

    def saw(self, version: int, now: float) -> None:
        if not self.versions or version > self.versions[-1][0]:
            self.versions.append((version, now))

    def stage(self, data: bytes, now: float) -> None:
        match = QUESTION.search(data)
        choices = CHOICE.findall(data)
        if not match or not choices:
            return
        self.questions.setdefault(int(match.group(1)), now)
        if self.spread and self.sent_at is None and b"locked in" not in data:
            self.sent_at = 0.0  # scheduled: one answer per socket
            asyncio.get_running_loop().call_later(random.uniform(0.05, self.spread), self.answer, choices)

    def answer(self, choices: list[tuple[bytes, bytes]]) -> None:
        if self.transport is None or self.transport.is_disconnected:
            return
        right = random.random() < ACCURACY and len(choices) > CORRECT
        choice, round_id = choices[CORRECT] if right else random.choice(choices)
        self.sent_at = time.time()
        self.transport.send(WSMsgType.TEXT, b'{"choice": "%s", "round": "%s"}' % (choice, round_id))

    def board(self) -> list[tuple[int, str, int]]:
        if self.last_board.startswith(FEED_VERSION):
            rows = json.loads(self.last_board)["board"]
            return [(r["Rank"], r["PlayerID"], int(r["Score"])) for r in rows]
        return [(int(rank), html.unescape(name.decode()), int(score))
                for rank, name, score in ROW.findall(self.last_board)]

    def result(self) -> dict:
        return {
            "offered_at": self.offered_at, "connected_at": self.connected_at, "snapshot_at": self.snapshot_at,
            "failed": self.failed,
            "dropped": self.dropped, "frames": self.frames, "questions": self.questions,
            "sent_at": self.sent_at or None, "locked_at": self.locked_at, "versions": self.versions,
            "my_score": self.my_score, "board": self.board(),
        }


async def connect(socket: Socket, url: str, headers: dict) -> None:
    try:
        await ws_connect(lambda: socket, url, extra_headers=headers, websocket_handshake_timeout=60,
                         max_frame_size=1 << 24)
    except Exception as error:  # counted and reported: a refused or failed connect
        socket.failed = f"{type(error).__name__}: {error}"


class Generator:
    """The control side of one generator process: one command per line, one reply each."""

    def __init__(self):
        self.sockets: list[Socket] = []
        self.connecting: set[asyncio.Task] = set()

    async def serve(self, reader, writer) -> None:
        while line := await reader.readline():
            request = json.loads(line)
            reply = await getattr(self, request.pop("command"))(**request)
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()

    async def open(self, sockets: list, origin: str, per_second: float | None = None) -> int:
        """Open sockets given as [url, cookie, spread]; replies once all are under way.
        With `per_second`, the n-th is offered n / per_second after the first (kept to the
        clock, so the sleeps' overshoot does not add up)."""
        began = time.monotonic()
        for n, (url, cookie, spread) in enumerate(sockets):
            socket = Socket(url, spread)
            self.sockets.append(socket)
            headers = {"Origin": origin, **({"Cookie": cookie} if cookie else {})}
            task = asyncio.get_running_loop().create_task(connect(socket, url, headers))
            self.connecting.add(task)
            task.add_done_callback(self.connecting.discard)
            if per_second and n % 10 == 9:
                await asyncio.sleep(max(0.0, began + (n + 1) / per_second - time.monotonic()))
        return len(sockets)

    async def status(self, seen: dict[str, int] | None = None) -> dict:
        """Counts over this process's sockets; `behind`: open sockets whose newest board
        is older than `seen[their URL]`."""
        sockets = self.sockets
        seen = seen or {}
        return {
            "sockets": len(sockets),
            "ready": sum(1 for s in sockets if s.snapshot_at or s.failed),
            "failed": sum(1 for s in sockets if s.failed),
            "sent": sum(1 for s in sockets if s.sent_at),
            "locked": sum(1 for s in sockets if s.locked_at),
            "frames": sum(s.frames for s in sockets),
            "behind": sum(1 for s in sockets if s.url in seen and not s.failed and not s.dropped
                          and (not s.versions or s.versions[-1][0] < seen[s.url])),
        }

    async def results(self) -> list[dict]:
        return [s.result() for s in self.sockets]

    async def close(self) -> int:
        for task in list(self.connecting):
            task.cancel()
        for socket in self.sockets:
            socket.closing = True
            if socket.transport is not None and not socket.transport.is_disconnected:
                socket.transport.send_close()
                socket.transport.disconnect()
        closed, self.sockets = len(self.sockets), []
        return closed


async def serve(port: int) -> None:
    server = await asyncio.start_server(Generator().serve, "127.0.0.1", port, limit=1 << 30)
    async with server:
        await server.serve_forever()


class Load:
    """The harness's handle on the generator processes: clients are dealt out in turn."""

    def __init__(self, processes: list[Process]):
        self.processes = processes
        self.streams: list = []
        self.dealt = 0  # sockets opened since the last close: socket k is in process k % count

    @staticmethod
    def process(name: str, *, env: dict, log_path) -> Process:
        port = free_port()
        process = Process(name, [PYTHON, "-m", "benchmarks.load", "--port", str(port)], env=env,
                          log_path=log_path, ready=ready_when_listening(port))
        process.port = port
        return process

    async def connect(self) -> None:
        for process in self.processes:
            self.streams.append(await asyncio.open_connection("127.0.0.1", process.port, limit=1 << 30))

    async def _call(self, n: int, **request):
        reader, writer = self.streams[n]
        writer.write(json.dumps(request).encode() + b"\n")
        await writer.drain()
        return json.loads(await reader.readline())

    async def _each(self, **request) -> list:
        return await asyncio.gather(*(self._call(n, **request) for n in range(len(self.streams))))

    async def open(self, sockets: list[tuple[str, str, float]], origin: str, per_second: float | None = None) -> None:
        count, first = len(self.streams), self.dealt
        self.dealt += len(sockets)
        rate = per_second / count if per_second else None
        await asyncio.gather(*(self._call(n, command="open", sockets=sockets[(n - first) % count::count], origin=origin,
                                          per_second=rate) for n in range(count)))

    async def status(self, seen: dict[str, int] | None = None) -> dict:
        replies = await self._each(command="status", seen=seen)
        return {key: sum(r[key] for r in replies) for key in replies[0]}

    async def wait(self, done, timeout: float, seen: dict[str, int] | None = None) -> dict:
        """Poll the generators until `done(status)`, or the timeout; the last status."""
        deadline = time.monotonic() + timeout
        while True:
            status = await self.status(seen)
            if done(status) or time.monotonic() > deadline:
                return status
            await asyncio.sleep(0.1)

    async def results(self) -> list[dict]:
        """Every socket's record, in the order the sockets were given to `open`."""
        replies = await self._each(command="results")
        merged = [None] * sum(len(r) for r in replies)
        for n, reply in enumerate(replies):
            merged[n::len(replies)] = reply
        return merged

    async def close(self) -> None:
        await self._each(command="close")
        self.dealt = 0

    async def disconnect(self) -> None:
        for _, writer in self.streams:
            writer.close()
        self.streams = []


def main() -> None:
    parser = argparse.ArgumentParser(description="One load generator process (started by benchmarks.run).")
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
