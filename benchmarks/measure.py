"""What a run measures, apart from any scenario: latencies from the clients' records, the
CPU each part of the system used (read from /proc), the board version each scored answer
first appeared in, pub/sub messages delivered to each web process, and exactness."""

import asyncio
import bisect
import json
import os
import random
import threading
import time
from collections import Counter, defaultdict

CLOCK = os.sysconf("SC_CLK_TCK")
# The harness's own PostgreSQL connections (polling for scored answers) carry this name,
# so the backends serving them are not counted as the server's cost.
HARNESS = "elsa-bench-harness"


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(seconds: list[float]) -> dict:
    ms = [v * 1000 for v in seconds]
    return {"n": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95), "p99": percentile(ms, 99),
            "max": max(ms) if ms else None}


# --- CPU ---------------------------------------------------------------------------------


def _stat(pid: str) -> tuple[int, int, float] | None:
    """(process group, start time in clock ticks since boot, CPU-seconds) of one process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(b")") + 2:].split()  # after "pid (comm) ": comm may hold spaces
    return int(fields[2]), int(fields[19]), (int(fields[11]) + int(fields[12])) / CLOCK


def _now_ticks() -> int:
    with open("/proc/uptime") as f:
        return int(float(f.read().split()[0]) * CLOCK)


class Meter:
    """CPU-seconds (utime + stime) used by each part of the system, from /proc.

    A part is a process group (every process here starts in its own: a web server, the
    worker with its pool and beat, Redis, a load generator) or "postgres": the backends
    serving the benchmark database, from pg_stat_activity, the harness's own excepted. A
    thread samples every half second, so a process that ends is counted up to its last
    sample, and one that starts while its part is tracked counts from zero."""

    def __init__(self, server_url: str, database: str, interval: float = 0.5):
        import psycopg

        self.database, self.interval = database, interval
        self.groups: dict[int, str] = {}  # process group -> part
        self.since: dict[str, int] = {"postgres": _now_ticks()}
        self.cpu: dict[tuple[str, int, int], list[float]] = {}  # (part, pid, start) -> [first, last]
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.pg = psycopg.connect(f"{server_url}/postgres", autocommit=True)
        self.thread = threading.Thread(target=self._run, name="meter", daemon=True)
        self.thread.start()

    def track(self, part: str, process) -> None:
        with self.lock:
            self.groups[process.pid] = part
            self.since[part] = _now_ticks()

    def reading(self) -> dict[str, float]:
        """CPU-seconds per part since it was tracked; two readings make a window."""
        with self.lock:
            self._sample()
            totals: dict[str, float] = defaultdict(float)
            for (part, _, _), (first, last) in self.cpu.items():
                totals[part] += last - first
        return dict(totals)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.pg.close()

    def _run(self) -> None:
        while not self.stopping.wait(self.interval):
            with self.lock:
                self._sample()

    def _sample(self) -> None:
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                stat = _stat(entry.name)
                if stat and stat[0] in self.groups:
                    self._record(self.groups[stat[0]], entry.name, stat)
        rows = self.pg.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND "
                               "coalesce(application_name, '') <> %s", (self.database, HARNESS)).fetchall()
        for (pid,) in rows:
            stat = _stat(str(pid))
            if stat:
                self._record("postgres", str(pid), stat)

    def _record(self, part: str, pid: str, stat: tuple[int, int, float]) -> None:
        _, start, cpu = stat
        entry = self.cpu.get((part, int(pid), start))
        if entry is None:
            self.cpu[(part, int(pid), start)] = [0.0 if start >= self.since[part] else cpu, cpu]
        else:
            entry[1] = cpu


# --- live events --------------------------------------------------------------------------


class Events:
    """Every live event of the run, heard as a web process hears it: each board change
    with the players it lists and the version that holds it, and how many events each
    session published."""

    def __init__(self, redis_url: str):
        self.redis_url = redis_url
        # (session, participant) -> [(when heard, board version)] of each change listing them
        self.changes: dict[tuple[int, int], list[tuple[float, int]]] = defaultdict(list)
        self.last_version: dict[int, int] = {}
        self.published: Counter = Counter()
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        import redis.asyncio

        from live.events import CHANNEL_PATTERN

        self.client = redis.asyncio.Redis.from_url(self.redis_url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        await self.pubsub.psubscribe(CHANNEL_PATTERN)
        self.task = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        async for message in self.pubsub.listen():
            if message["type"] != "pmessage":
                continue
            heard = time.time()
            session_id = int(message["channel"].rsplit(b":", 1)[1])
            self.published[session_id] += 1
            event = json.loads(message["data"])
            if event.get("t") == "board":
                self.last_version[session_id] = max(event["version"], self.last_version.get(session_id, 0))
                for participant_id, _ in event["items"]:
                    self.changes[(session_id, participant_id)].append((heard, event["version"]))

    def version_after(self, session_id: int, participant_id: int, received: float) -> int | None:
        """The first board version that listed the player after their answer arrived (a
        join lists them too, at 0 points)."""
        return next((v for at, v in self.changes.get((session_id, participant_id), []) if at >= received), None)

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.pubsub.aclose()
        await self.client.aclose()


class CountingProxy:
    """Stands between one web process and Redis and counts the pub/sub messages Redis
    delivers to that process (RESP "message", "pmessage" and "smessage" pushes), so each
    process's share of the live events is measured without a counter in the app."""

    TOKENS = (b"$7\r\nmessage\r\n", b"$8\r\npmessage\r\n", b"$8\r\nsmessage\r\n")

    def __init__(self, redis_port: int):
        self.redis_port = redis_port
        self.messages = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _connection(self, reader, writer) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.redis_port)
        await asyncio.gather(self._pipe(reader, upstream_writer, count=False),
                             self._pipe(upstream_reader, writer, count=True), return_exceptions=True)

    async def _pipe(self, reader, writer, *, count: bool) -> None:
        tail = b""
        try:
            while data := await reader.read(1 << 16):
                if count:
                    # A token cut in two by a read is found in tail + data; tokens that lie
                    # wholly in the tail were counted with the read before.
                    chunk = tail + data
                    self.messages += sum(chunk.count(t) - tail.count(t) for t in self.TOKENS)
                    tail = chunk[-13:]
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def stop(self) -> None:
        self.server.close()


# --- latencies ----------------------------------------------------------------------------


def first_seen(versions: list, version: int) -> float | None:
    """When a client first held a leaderboard at `version` or later."""
    index = bisect.bisect_left(versions, version, key=lambda entry: entry[0])
    return versions[index][1] if index < len(versions) else None


def answer_to_screen(answers, events: Events, viewers: dict[int, list[dict]], sample: int) -> tuple[list[float], int]:
    """For each answer, from its server receive time to each of `sample` viewers of its
    session first holding a board that includes it."""
    latencies, missing = [], 0
    for session_id, participant_id, received, _ in answers:
        version = events.version_after(session_id, participant_id, received)
        watching = viewers[session_id]
        if len(watching) > sample:
            watching = random.Random(participant_id).sample(watching, sample)
        for record in watching:
            seen = first_seen(record["versions"], version) if version else None
            if seen is None:
                missing += 1
            else:
                latencies.append(seen - received)
    return latencies, missing


def fanout(records: list[dict], start: float, end: float) -> dict:
    """Board frames delivered per second between `start` and `end`, and for each, how long
    after the first socket this socket got that version (the spread of one fan-out)."""
    first: dict[int, float] = {}
    arrivals = []
    for record in records:
        for version, at in record["versions"]:
            if start <= at <= end:
                arrivals.append((version, at))
                first[version] = min(at, first.get(version, at))
    return {"frames_per_s": round(len(arrivals) / (end - start), 1) if end > start else None,
            "spread": summary([at - first[version] for version, at in arrivals])}


def connected(records: list[dict]) -> list[dict]:
    return [r for r in records if r["connected_at"] and not r["failed"]]


# --- exactness ----------------------------------------------------------------------------


def exactness(sessions, players: dict[int, list[tuple[str, dict]]]) -> dict:
    """Ledger = totals = Redis for every session, and every player's last shown score and
    last shown leaderboard equal the database's."""
    from leaderboard import board
    from quizzes import selectors
    from quizzes.models import Participant

    problems, disagreeing = [], 0
    for session in sessions:
        problems += selectors.audit(session)
        scores = dict(Participant.objects.filter(session=session).values_list("nickname", "score"))
        top = [[s.rank, s.nickname, s.score] for s in board.top(session_id=session.pk, limit=10).standings]
        for nickname, record in players.get(session.pk, []):
            if record["my_score"] is not None and record["my_score"] != scores[nickname]:
                disagreeing += 1
            elif record["board"] and [list(row) for row in record["board"]] != top:
                disagreeing += 1
    return {"audit_problems": problems[:10], "clients_disagreeing": disagreeing,
            "exact": not problems and not disagreeing}
