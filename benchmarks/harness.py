"""What every scenario shares: the running stack, the load generators, the CPU meter and
the live events, plus the quiz data a host would create and the waits between steps."""

import asyncio
import json
import time
import urllib.request

from .load import Load
from .measure import Events, Meter, exactness
from .stack import Stack


def ws(url: str) -> str:
    return url.replace("http://", "ws://", 1)


def post_json(url: str, body: dict, timeout: float = 600) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


class Harness:
    def __init__(self, args, stack: Stack):
        self.args, self.stack = args, stack
        self.load = Load(stack.generators)
        server, name = stack.database.rsplit("/", 1)
        self.meter = Meter(server, name)
        for process in stack.started:
            self.meter.track(process.name, process)
        self.events = Events(stack.env["REDIS_URL"])
        self.templates: dict[int, list[str]] = {}  # players -> the room's board frame, for the bare server

    async def start(self) -> None:
        await self.load.connect()
        await self.events.start()

    async def stop(self) -> None:
        await self.events.stop()
        await self.load.disconnect()
        self.meter.stop()

    # --- measured windows -------------------------------------------------------------

    async def mark(self) -> dict:
        return {"time": time.time(), "cpu": await asyncio.to_thread(self.meter.reading),
                "frames": (await self.load.status())["frames"]}

    def cost(self, start: dict, end: dict, *, web: list[str], per: dict[str, int], with_backends: bool = True) -> dict:
        """Server CPU-seconds between two marks, by part, and per 1,000 of each unit in `per`
        (answers, frames, connects); the generators' own CPU per 1,000 frames beside it."""
        def used(names):
            return sum(end["cpu"].get(n, 0.0) - start["cpu"].get(n, 0.0) for n in names)

        parts = {"web": used(web)}
        if with_backends:
            parts.update(worker=used(["worker"]), postgres=used(["postgres"]), redis=used(["redis"]))
        total = sum(parts.values())
        frames = end["frames"] - start["frames"]
        generator = used([p.name for p in self.stack.generators])
        figures = {"seconds": round(end["time"] - start["time"], 2), "frames": frames,
                   "cpu_s": {k: round(v, 3) for k, v in parts.items()}, "server_cpu_s": round(total, 3),
                   "generator_cpu_s": round(generator, 3),
                   "generator_cpu_s_per_1000_frames": round(generator / frames * 1000, 4) if frames else None}
        for unit, count in {**per, "frames": frames}.items():
            figures[f"server_cpu_s_per_1000_{unit}"] = round(total / count * 1000, 4) if count else None
        # The web process alone, per frame: what compares with the bare broadcast server.
        figures["web_cpu_s_per_1000_frames"] = round(parts["web"] / frames * 1000, 4) if frames else None
        return figures

    # --- quiz data, made through the services as a host would ------------------------

    # The longest time limit a question may have: no question closes by its timer while a
    # scenario still waits on it (10,000 players take longer than spread + 20 s).
    TIME_LIMIT = 240

    def quiz(self, *, time_limit: int = TIME_LIMIT, questions: int = 1):
        from quizzes.models import Choice, Question, Quiz

        quiz = Quiz.objects.create(title=f"Benchmark {time.time():.0f}")
        for order in range(questions):
            question = Question.objects.create(quiz=quiz, order=order, prompt=f"Benchmark question {order + 1}?",
                                               time_limit_seconds=time_limit)
            for n in range(4):  # the second choice is right (benchmarks.load.CORRECT)
                Choice.objects.create(question=question, order=n, text=f"Choice {n + 1}", is_correct=n == 1)
        return quiz

    def sessions(self, count: int) -> list:
        from quizzes import services

        quiz = self.quiz()
        return [services.session_create(quiz=quiz) for _ in range(count)]

    @staticmethod
    def open_question(session_id: int) -> tuple[float, int]:
        """Open the next question: (its server opening time, its correct choice)."""
        from quizzes import services
        from quizzes.models import QuizSession

        services.session_next(session_id=session_id)
        fresh = QuizSession.objects.select_related("current_round__question").get(pk=session_id)
        return fresh.current_round.opened_at.timestamp(), fresh.current_round.question.choices.get(is_correct=True).pk

    @staticmethod
    def close_question(session_id: int) -> None:
        """Close the open question, unless it closed itself already (everyone connected
        answered, or its timer ran out): closing is idempotent."""
        from quizzes import services
        from quizzes.models import QuizSession

        round_id = QuizSession.objects.values_list("current_round_id", flat=True).get(pk=session_id)
        if round_id is not None:
            services.round_close(round_id=round_id)

    @staticmethod
    def finish(session_ids: list[int]) -> None:
        """Press the host's button until each session is over, so none of them moves on by
        its timers (and publishes) in a later scenario's window."""
        from quizzes import services
        from quizzes.models import QuizSession

        for session_id in session_ids:
            while QuizSession.objects.get(pk=session_id).state != QuizSession.State.FINISHED:
                try:
                    services.session_next(session_id=session_id)
                except services.HostError:  # it finished by its own timers meanwhile
                    pass

    @staticmethod
    def answers(session_ids: list[int]) -> list[tuple[int, int, float, float | None]]:
        """(session, participant, received, scored) of every answer, server times."""
        from quizzes.models import Answer

        rows = Answer.objects.using("harness").filter(round__session_id__in=session_ids).values_list(
            "round__session_id", "participant_id", "received_at", "scored_at")
        return [(s, p, r.timestamp(), d.timestamp() if d else None) for s, p, r, d in rows]

    async def wait_scored(self, session_ids: list[int], expected: int, timeout: float = 180) -> None:
        """Until `expected` answers are stored and none is pending (on the harness's own
        connections, which the meter leaves out)."""
        from quizzes.models import Answer

        def counts():
            answers = Answer.objects.using("harness").filter(round__session_id__in=session_ids)
            return answers.count(), answers.filter(scored_at__isnull=True).count()

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            total, pending = await asyncio.to_thread(counts)
            if total >= expected and pending == 0:
                return
            await asyncio.sleep(0.25)
        raise RuntimeError(f"{expected} answers not stored and scored within {timeout} s: "
                           f"{total} stored, {pending} pending")

    async def caught_up(self, versions: dict[str, int], timeout: float = 30) -> dict:
        """Until every open socket of each URL holds at least that URL's board version."""
        return await self.load.wait(lambda s: s["behind"] == 0, timeout, seen=versions)

    async def settle(self, sessions, urls: dict[int, str], players: dict[int, list[str]],
                     timeout: float = 20) -> tuple[dict, list]:
        """Exactness once the last frames have arrived: every socket holds the session's
        current board version, then the clients' records are compared with the database,
        again each second until they agree or the timeout."""
        from leaderboard import board

        def final_versions():
            return {urls[s.pk]: board.top(session_id=s.pk, limit=1).version for s in sessions}

        started = time.monotonic()
        await self.caught_up(await asyncio.to_thread(final_versions), timeout)
        while True:
            records = await self.load.results()
            by_session = {sid: list(zip(names, records[n:n + len(names)])) for sid, names, n in _slices(players)}
            result = await asyncio.to_thread(exactness, sessions, by_session)
            if result["exact"] or time.monotonic() - started > timeout:
                return {**result, "settled_after_s": round(time.monotonic() - started, 1)}, records
            await asyncio.sleep(1)


def _slices(players: dict[int, list[str]]):
    """(session, nicknames, index of its first socket) for sockets opened session by session."""
    n = 0
    for session_id, names in players.items():
        yield session_id, names, n
        n += len(names)
