"""Load and latency benchmark against the real stack. One command, prints a table, writes
benchmarks/results/results.json and benchmarks/results/latency.png.

    make bench                                  # the whole set (several minutes)
    make bench BENCH_ARGS="--sizes 1000"        # one room size
    python -m benchmarks.run --smoke            # seconds; what the test suite runs

Everything runs on this machine over loopback: uvicorn, a Celery worker (2 processes),
PostgreSQL, Redis, and the load generator (this process) on the same cores.
"""

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/elsa_bench"
REDIS = "redis://127.0.0.1:6379/13"
BROKER = "redis://127.0.0.1:6379/14"


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict:
    ms = [v * 1000 for v in values]
    return {
        "n": len(ms),
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": max(ms) if ms else None,
    }


class Harness:
    def __init__(self, args):
        self.args = args
        self.results: dict = {"machine": machine(), "runs": []}
        os.environ.update({"DATABASE_URL": args.database_url, "REDIS_URL": REDIS, "CELERY_BROKER_URL": BROKER,
                           "DJANGO_SETTINGS_MODULE": "elsa.settings", "LOG_LEVEL": "WARNING",
                           # this process's own threads keep their connections: room for all
                           "DB_POOL_SIZE": "64"})
        from benchmarks.stack import bench_env, prepare_database

        prepare_database(args.database_url)
        import redis

        redis.Redis.from_url(REDIS).flushdb()
        redis.Redis.from_url(BROKER).flushdb()
        import django

        django.setup()
        self.env = bench_env(args.database_url, REDIS, BROKER, REVEAL_SECONDS="2", SWEEP_PENDING_AFTER="5")

    # --- data, built through the services as a host would -----------------------------

    def quiz(self, *, time_limit: int, questions: int = 2):
        from quizzes.models import Choice, Question, Quiz

        quiz = Quiz.objects.create(title=f"Benchmark {time.time():.0f}")
        for order in range(questions):
            question = Question.objects.create(quiz=quiz, order=order, prompt=f"Benchmark question {order + 1}?",
                                               time_limit_seconds=time_limit)
            for n in range(4):
                Choice.objects.create(question=question, order=n, text=f"Choice {n + 1}", is_correct=n == 1)
        return quiz

    def session(self, quiz):
        from quizzes import services

        return services.session_create(quiz=quiz)

    def open_question(self, session, correct: dict) -> float:
        from quizzes import services
        from quizzes.models import QuizSession

        services.session_next(session_id=session.pk)
        fresh = QuizSession.objects.select_related("current_round__question").get(pk=session.pk)
        correct[fresh.current_round_id] = fresh.current_round.question.choices.get(is_correct=True).pk
        return fresh.current_round.opened_at.timestamp()

    # --- measuring ------------------------------------------------------------------------

    async def versions_of_scores(self, stop: asyncio.Event, seen: dict) -> None:
        """(session, participant) -> [(when, board version)] of each board change that
        listed them; `answer_to_screen` takes the first after their answer arrived (a join
        lists a player too, at 0 points)."""
        import redis.asyncio

        from live.events import CHANNEL_PATTERN

        client = redis.asyncio.Redis.from_url(REDIS)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        await pubsub.psubscribe(CHANNEL_PATTERN)
        while not stop.is_set():
            message = await pubsub.get_message(timeout=0.2)
            if message and message["type"] == "pmessage":
                event = json.loads(message["data"])
                if event.get("t") == "board":
                    session_id = int(message["channel"].rsplit(b":", 1)[1])
                    for participant_id, _ in event["items"]:
                        seen.setdefault((session_id, participant_id), []).append((time.time(), event["version"]))
        await pubsub.aclose()
        await client.aclose()

    def answers(self, session_ids: list[int]) -> list[tuple[int, int, float, float | None]]:
        from quizzes.models import Answer

        rows = Answer.objects.filter(round__session_id__in=session_ids).values_list(
            "round__session_id", "participant_id", "received_at", "scored_at")
        return [(s, p, r.timestamp(), d.timestamp() if d else None) for s, p, r, d in rows]

    async def wait_scored(self, session_ids: list[int], expected: int, timeout: float = 120) -> float:
        from quizzes.models import Answer

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            def counts():
                qs = Answer.objects.filter(round__session_id__in=session_ids)
                return qs.count(), qs.filter(scored_at__isnull=True).count()

            total, pending = await asyncio.to_thread(counts)
            if total >= expected and pending == 0:
                return time.time()
            await asyncio.sleep(0.25)
        raise RuntimeError(f"answers not all scored within {timeout}s")

    def answer_to_screen(
        self, answers, versions: dict, clients_by_session: dict, sample: int
    ) -> tuple[list[float], int]:
        latencies, missing = [], 0
        for session_id, participant_id, received, _ in answers:
            changes = versions.get((session_id, participant_id), [])
            version = next((v for at, v in changes if at >= received), None)
            viewers = clients_by_session[session_id]
            if len(viewers) > sample:
                viewers = random.Random(participant_id).sample(viewers, sample)
            for client in viewers:
                seen = client.first_seen(version) if version else None
                if seen is None:
                    missing += 1
                else:
                    latencies.append(seen - received)
        return latencies, missing

    def exactness(self, sessions, player_clients: dict) -> dict:
        """Database ledger = totals = Redis; each player's last shown score = database."""
        from leaderboard import board
        from quizzes import selectors
        from quizzes.models import Participant

        problems = []
        for session in sessions:
            problems += selectors.audit(session)
        wrong_scores = 0
        for session in sessions:
            scores = dict(Participant.objects.filter(session=session).values_list("nickname", "score"))
            top = [(s.rank, s.nickname, s.score) for s in board.top(session_id=session.pk, limit=10).standings]
            for client in player_clients.get(session.pk, []):
                if client.nickname and client.my_score is not None and client.my_score != scores[client.nickname]:
                    wrong_scores += 1
                if client.last_board and client.board_rows() != top:
                    wrong_scores += 1
        exact = not problems and not wrong_scores
        return {"audit_problems": problems[:10], "clients_disagreeing": wrong_scores, "exact": exact}

    async def settled(self, check, timeout: float = 20.0) -> dict:
        """Exactness once the last frames have arrived: retried until every client agrees."""
        started = time.monotonic()
        while True:
            await asyncio.sleep(1)
            result = await asyncio.to_thread(check)
            if result["exact"] or time.monotonic() - started > timeout:
                return {**result, "settled_after_s": round(time.monotonic() - started, 1)}

    # --- scenarios ------------------------------------------------------------------------

    async def room(self, stack, players: int, spread: float) -> dict:
        """One session, `players` players all answering one question within `spread` seconds."""
        from benchmarks.clients import Client, connect_all, join_many, wait_connected

        url = stack.urls[0]
        session = await asyncio.to_thread(self.session, await asyncio.to_thread(self.quiz, time_limit=int(spread) + 20))
        nicknames = [f"Player {n:05d}" for n in range(players)]
        started = time.monotonic()
        cookies = await asyncio.to_thread(join_many, url, session.code, nicknames)
        join_seconds = time.monotonic() - started
        correct: dict = {}
        clients = [Client(url=f"{url.replace('http', 'ws')}/ws/play/{session.code}", cookie=c, answer=True,
                          spread=spread, correct=correct) for c in cookies]
        for client, nickname in zip(clients, nicknames):
            client.nickname = nickname
        stop, versions = asyncio.Event(), {}
        listener = asyncio.create_task(self.versions_of_scores(stop, versions))
        tasks = await connect_all(clients, url, stop)
        await wait_connected(clients, 120)
        await asyncio.sleep(1.5)
        opened = await asyncio.to_thread(self.open_question, session, correct)
        await asyncio.sleep(spread + 1)
        connected = [c for c in clients if c.connected_at and not c.failed]
        await self.wait_scored([session.pk], expected=sum(1 for c in connected if c.sent_at))
        await asyncio.sleep(3)  # the last ticks
        answers = await asyncio.to_thread(self.answers, [session.pk])
        last_answer = max(a[2] for a in answers)
        last_score = max(a[3] for a in answers)
        latencies, missing = self.answer_to_screen(answers, versions, {session.pk: connected}, self.args.sample)
        from quizzes import services

        await asyncio.to_thread(services.session_next, session_id=session.pk)  # close: the reveal
        exact = await self.settled(lambda: self.exactness([session], {session.pk: connected}))
        stop.set()
        await asyncio.gather(*tasks, listener, return_exceptions=True)
        return {
            "scenario": "room", "players": players, "connected": len(connected),
            "failed": sum(1 for c in clients if c.failed), "join_seconds": round(join_seconds, 1),
            "answers": len(answers),
            "lock_in": summary([c.locked_at - c.sent_at for c in connected if c.locked_at and c.sent_at]),
            "question_delivery": summary([c.questions[1] - opened for c in connected if 1 in c.questions]),
            "answer_to_screen": summary(latencies), "answer_to_screen_missing": missing,
            "last_answer_to_last_score_ms": round((last_score - last_answer) * 1000, 1),
            **exact,
        }

    async def naive(self, stack, baseline_url: str, players: int, spread: float) -> dict:
        """The same room watched through the naive per-answer channel-layer broadcast."""
        from benchmarks.clients import Client, connect_all, wait_connected
        from quizzes import services
        from quizzes.models import Participant

        session = await asyncio.to_thread(self.session, await asyncio.to_thread(self.quiz, time_limit=int(spread) + 20))

        def make_players():
            return [services.participant_join(code=session.code, nickname=f"Naive {n:05d}").pk for n in range(players)]

        participant_ids = await asyncio.to_thread(make_players)
        viewers = [Client(url=f"{baseline_url.replace('http', 'ws')}/naive/{session.code}", json_feed=True)
                   for _ in range(players)]
        stop, versions = asyncio.Event(), {}
        listener = asyncio.create_task(self.versions_of_scores(stop, versions))
        tasks = await connect_all(viewers, baseline_url, stop)
        await wait_connected(viewers, 120)
        await asyncio.sleep(1.5)
        correct: dict = {}
        await asyncio.to_thread(self.open_question, session, correct)
        round_id, choice_id = next(iter(correct.items()))
        start = time.monotonic()

        def submit(n_pid):
            n, pid = n_pid
            time.sleep(max(0.0, start + n * spread / players - time.monotonic()))
            services.answer_submit(participant_id=pid, session_id=session.pk, choice_id=choice_id)

        with ThreadPoolExecutor(8) as pool:
            await asyncio.to_thread(lambda: list(pool.map(submit, enumerate(participant_ids))))
        await self.wait_scored([session.pk], expected=players)
        await asyncio.sleep(5)
        answers = await asyncio.to_thread(self.answers, [session.pk])
        connected = [c for c in viewers if c.connected_at and not c.failed]
        latencies, missing = self.answer_to_screen(answers, versions, {session.pk: connected}, self.args.sample)
        stop.set()
        await asyncio.gather(*tasks, listener, return_exceptions=True)
        assert await asyncio.to_thread(Participant.objects.filter(session=session).count) == players
        return {
            "scenario": "naive baseline", "players": players, "connected": len(connected),
            "failed": sum(1 for c in viewers if c.failed), "answers": len(answers),
            "answer_to_screen": summary(latencies), "answer_to_screen_missing": missing,
            "frames_per_client": round(statistics.mean(c.frames for c in connected), 1) if connected else 0,
        }

    async def sessions(self, stack, count: int, per: int, spread: float) -> dict:
        """Many sessions at once, each with its own players answering its own question."""
        from benchmarks.clients import Client, connect_all, join_many, wait_connected

        url = stack.urls[0]
        quiz = await asyncio.to_thread(self.quiz, time_limit=int(spread) + 20)
        sessions = [await asyncio.to_thread(self.session, quiz) for _ in range(count)]
        started = time.monotonic()
        by_session, correct = {}, {}
        for session in sessions:
            nicknames = [f"P{n:03d}" for n in range(per)]
            cookies = await asyncio.to_thread(join_many, url, session.code, nicknames, threads=16)
            by_session[session.pk] = [
                Client(url=f"{url.replace('http', 'ws')}/ws/play/{session.code}", cookie=c, answer=True,
                       spread=spread, correct=correct) for c in cookies]
            for client, nickname in zip(by_session[session.pk], nicknames):
                client.nickname = nickname
        join_seconds = time.monotonic() - started
        everyone = [c for group in by_session.values() for c in group]
        stop, versions = asyncio.Event(), {}
        listener = asyncio.create_task(self.versions_of_scores(stop, versions))
        tasks = await connect_all(everyone, url, stop)
        await wait_connected(everyone, 180)
        await asyncio.sleep(2)
        for session in sessions:
            await asyncio.to_thread(self.open_question, session, correct)
        await asyncio.sleep(spread + 1)
        connected = {sid: [c for c in group if c.connected_at and not c.failed] for sid, group in by_session.items()}
        ids = [s.pk for s in sessions]
        await self.wait_scored(ids, expected=sum(1 for g in connected.values() for c in g if c.sent_at))
        await asyncio.sleep(3)
        answers = await asyncio.to_thread(self.answers, ids)
        latencies, missing = self.answer_to_screen(answers, versions, connected, self.args.sample)
        exact = await asyncio.to_thread(self.exactness, sessions, {})
        stop.set()
        await asyncio.gather(*tasks, listener, return_exceptions=True)
        return {
            "scenario": "sessions", "sessions": count, "players": count * per,
            "connected": sum(len(g) for g in connected.values()), "failed": sum(1 for c in everyone if c.failed),
            "join_seconds": round(join_seconds, 1), "answers": len(answers),
            "lock_in": summary([c.locked_at - c.sent_at for g in connected.values() for c in g
                                if c.locked_at and c.sent_at]),
            "answer_to_screen": summary(latencies), "answer_to_screen_missing": missing, **exact,
        }

    async def burst(self, stack, clients: int, seconds: float) -> dict:
        """`clients` sockets opened within `seconds`: all accepted, no server error."""
        from benchmarks.clients import Client, connect_all, wait_connected

        url = stack.urls[0]
        session = await asyncio.to_thread(self.session, await asyncio.to_thread(self.quiz, time_limit=30))
        viewers = [Client(url=f"{url.replace('http', 'ws')}/ws/livescore/{session.code}") for _ in range(clients)]
        stop = asyncio.Event()
        started = time.time()
        tasks = await connect_all(viewers, url, stop, per_second=clients / seconds)
        await wait_connected(viewers, 60)
        accepted = [c for c in viewers if c.connected_at and not c.failed]
        await asyncio.sleep(1)
        snapshots = sum(1 for c in accepted if c.versions)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        errors = stack.server_errors()
        return {
            "scenario": "connect burst", "clients": clients, "accepted": len(accepted),
            "with_snapshot": snapshots, "failed": clients - len(accepted),
            "opened_within_s": round(max(c.connected_at for c in accepted) - started, 2) if accepted else None,
            "server_errors": errors[:5],
        }

    async def scoring(self, stack, seconds: float, rate: float) -> dict:
        """Answers submitted through answer_submit at `rate`/s for `seconds`; the worker scores."""
        from quizzes import services
        from quizzes.models import Participant
        from quizzes.nicknames import nickname_key

        total = int(seconds * rate)
        per_session = 500
        quiz = await asyncio.to_thread(self.quiz, time_limit=240)
        plan = []

        def setup():
            for _ in range((total + per_session - 1) // per_session):
                session = self.session(quiz)
                Participant.objects.bulk_create(
                    [Participant(session=session, nickname=f"S{n:04d}", skeleton=nickname_key(f"S{n:04d}"))
                     for n in range(per_session)])
                services.leaderboard_rebuild(session.pk)
                correct = {}
                self.open_question(session, correct)
                choice = next(iter(correct.values()))
                plan.extend((session.pk, pid, choice) for pid in session.participants.values_list("pk", flat=True))
                if len(plan) >= total:
                    return [s for s in plan[:total]]
            return plan[:total]

        plan = await asyncio.to_thread(setup)
        sessions = sorted({s for s, _, _ in plan})
        start = time.monotonic()
        refused = []

        def submit(item):
            n, (session_id, pid, choice) = item
            time.sleep(max(0.0, start + n / rate - time.monotonic()))
            try:
                services.answer_submit(participant_id=pid, session_id=session_id, choice_id=choice)
            except services.AnswerRefused as error:
                refused.append(error.code)

        with ThreadPoolExecutor(12) as pool:
            await asyncio.to_thread(lambda: list(pool.map(submit, enumerate(plan))))
        submitted_seconds = time.monotonic() - start
        await self.wait_scored(sessions, expected=total, timeout=300)
        answers = await asyncio.to_thread(self.answers, sessions)
        scored = sorted(a[3] for a in answers)
        received = sorted(a[2] for a in answers)
        window = scored[-1] - scored[0]
        exact = await asyncio.to_thread(self.exactness, [s for s in await asyncio.to_thread(
            lambda: list(__import__("quizzes.models", fromlist=["QuizSession"])
                         .QuizSession.objects.filter(pk__in=sessions)))], {})
        return {
            "scenario": "scoring", "answers": len(answers), "refused": len(refused),
            "offered_per_s": round(total / submitted_seconds, 1),
            "scored_per_s": round(len(scored) / window, 1) if window else None,
            "scoring_window_s": round(window, 1),
            "last_answer_to_last_score_ms": round((scored[-1] - received[-1]) * 1000, 1),
            "scoring_lag": summary([a[3] - a[2] for a in answers]),
            **exact,
        }

    # --- the run ---------------------------------------------------------------------------

    async def main(self) -> None:
        from benchmarks.stack import Stack

        args = self.args
        stack = Stack(self.env, web_processes=1).start()
        baseline = None
        try:
            if args.baseline:
                baseline = Stack(self.env, web_processes=1, worker_concurrency=0,
                                 asgi="benchmarks.baseline:application")
                baseline.start(worker=False)
            for players in args.sizes:
                self.record(await self.room(stack, players, args.spread))
            if baseline:
                self.record(await self.naive(stack, baseline.urls[0], args.baseline, args.spread))
            if args.sessions:
                count, per = (int(x) for x in args.sessions.split("x"))
                self.record(await self.sessions(stack, count, per, args.spread))
            if args.burst:
                self.record(await self.burst(stack, args.burst, 2.0))
            if args.scoring:
                self.record(await self.scoring(stack, args.scoring, args.rate))
        finally:
            stack.stop()
            if baseline:
                baseline.stop()
        self.report()

    def record(self, result: dict) -> None:
        self.results["runs"].append(result)
        print(json.dumps(result), flush=True)

    def report(self) -> None:
        from benchmarks.stack import RESULTS

        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "results.json").write_text(json.dumps(self.results, indent=2))
        print("\n" + table(self.results["runs"]))
        chart(self.results["runs"], RESULTS / "latency.png")
        print(f"\nwritten: {RESULTS / 'results.json'}, {RESULTS / 'latency.png'}")


def fmt(stats: dict | None) -> str:
    if not stats or not stats.get("n"):
        return "-"
    return f"{stats['p50']:.0f}/{stats['p95']:.0f}/{stats['p99']:.0f}/{stats['max']:.0f}"


def table(runs: list[dict]) -> str:
    lines = ["| scenario | players | connected | lock-in ms p50/p95/p99/max | question delivery ms "
             "| answer-to-screen ms | exact |",
             "|---|---|---|---|---|---|---|"]
    for r in runs:
        if r["scenario"] in {"room", "naive baseline", "sessions"}:
            size = f" {r['sessions']}x{r['players'] // r['sessions']}" if r["scenario"] == "sessions" else ""
            name = r["scenario"] + size
            lines.append(f"| {name} | {r['players']} | {r['connected']} | {fmt(r.get('lock_in'))} | "
                         f"{fmt(r.get('question_delivery'))} | {fmt(r.get('answer_to_screen'))} "
                         f"| {r.get('exact', '-')} |")
    for r in runs:
        if r["scenario"] == "connect burst":
            lines.append(f"\nconnect burst: {r['accepted']}/{r['clients']} accepted within {r['opened_within_s']} s, "
                         f"{r['with_snapshot']} got a snapshot, server errors: {len(r['server_errors'])}")
        if r["scenario"] == "scoring":
            lines.append(f"\nscoring: {r['answers']} answers offered at {r['offered_per_s']}/s, "
                         f"scored {r['scored_per_s']}/s over {r['scoring_window_s']} s; "
                         f"last answer to last score {r['last_answer_to_last_score_ms']} ms; "
                         f"lag {fmt(r['scoring_lag'])} ms; exact: {r['exact']}")
    rooms = {r["players"]: r for r in runs if r["scenario"] == "room"}
    for r in runs:
        if r["scenario"] == "naive baseline" and r["players"] in rooms and r["answer_to_screen"]["n"]:
            ours = rooms[r["players"]]["answer_to_screen"]["p95"]
            lines.append(f"\nnaive/product p95 answer-to-screen at {r['players']} players: "
                         f"{r['answer_to_screen']['p95']:.0f} / {ours:.0f} ms "
                         f"= {r['answer_to_screen']['p95'] / ours:.1f}x")
    return "\n".join(lines)


def chart(runs: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rooms = sorted((r for r in runs if r["scenario"] == "room" and r["answer_to_screen"]["n"]),
                   key=lambda r: r["players"])
    if not rooms:
        return
    figure, axis = plt.subplots(figsize=(7, 4))
    players = [r["players"] for r in rooms]
    for key, label in (("p50", "p50"), ("p95", "p95"), ("p99", "p99")):
        axis.plot(players, [r["answer_to_screen"][key] for r in rooms], marker="o", label=f"answer-to-screen {label}")
    axis.plot(players, [r["lock_in"]["p95"] for r in rooms], marker="s", linestyle="--", label="lock-in p95")
    axis.plot(players, [r["question_delivery"]["p95"] for r in rooms], marker="^", linestyle=":",
              label="question delivery p95")
    for r in runs:
        if r["scenario"] == "naive baseline" and r["answer_to_screen"]["n"]:
            axis.scatter([r["players"]], [r["answer_to_screen"]["p95"]], color="red", zorder=5,
                         label="naive baseline p95")
    axis.set_xlabel("players in one session")
    axis.set_ylabel("latency (ms)")
    axis.set_yscale("log")
    axis.set_title("ELSA Live Quiz on 2 cores (load generator included)")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": platform.platform(),
            "when": time.strftime("%Y-%m-%d %H:%M")}


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--sizes", type=int, nargs="*", default=[250, 1000, 2500, 5000], help="players in one session")
    parser.add_argument("--spread", type=float, default=10.0, help="players answer within this many seconds")
    parser.add_argument("--baseline", type=int, default=1000, help="players for the naive baseline (0: skip)")
    parser.add_argument("--sessions", default="200x20", help="COUNTxPLAYERS at once ('' to skip)")
    parser.add_argument("--burst", type=int, default=2000, help="connects within 2 s (0: skip)")
    parser.add_argument("--scoring", type=float, default=30.0, help="seconds of sustained answers (0: skip)")
    parser.add_argument("--rate", type=float, default=600.0, help="answers per second offered in the scoring run")
    parser.add_argument("--sample", type=int, default=300, help="clients sampled per answer for answer-to-screen")
    parser.add_argument("--smoke", action="store_true", help="a tiny run of every scenario")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.spread, args.baseline, args.sessions = [20], 2.0, 20, "3x5"
        args.burst, args.scoring, args.rate = 100, 3.0, 50.0
    return args


def main(argv=None) -> dict:
    harness = Harness(parse(argv))
    asyncio.run(harness.main())
    return harness.results


if __name__ == "__main__":
    main()
