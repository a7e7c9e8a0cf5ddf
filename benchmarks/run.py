"""Load and latency benchmark against the real stack. One command, prints a table, writes
benchmarks/results/results.json and benchmarks/results/latency.png.

    make bench                                  # the whole set, 3 repetitions (a long while)
    make bench BENCH_ARGS="--sizes 1000 --repeat 1"
    python -m benchmarks.run --smoke            # under a minute; what the test suite runs

Everything runs on this machine over loopback: a private Redis, uvicorn, a Celery worker
(2 processes), PostgreSQL, and the load generators (separate processes) on the same
cores. Beside every latency it reports what the server spent: CPU-seconds of the web
process(es), the worker, PostgreSQL's backends and Redis per 1,000 answers and per 1,000
frames delivered, read from /proc; and the generators' own CPU per 1,000 frames.
"""

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

from elsa.processes import ROOT

from . import kinds, report, scenarios
from .harness import Harness
from .measure import HARNESS
from .stack import Stack, database_url

RESULTS = Path(os.environ.get("BENCH_RESULTS", ROOT / "benchmarks" / "results"))


def plan(args) -> list[tuple[str, str, object]]:
    """One repetition: (scenario, size label, coroutine function taking the harness)."""
    steps = []
    for players in args.sizes:
        steps.append(("room", str(players), lambda h, n=players: scenarios.room(h, n)))
        if args.bare:  # the physical limit at the same size, right after the room
            steps.append(("bare broadcast", str(players), lambda h, n=players: scenarios.bare(h, n)))
    if args.baseline:
        steps.append(("naive baseline", str(args.baseline), lambda h: scenarios.naive(h, args.baseline)))
    if args.sessions:
        count, per = (int(x) for x in args.sessions.split("x"))
        steps.append(("sessions", args.sessions, lambda h, c=count, p=per: scenarios.sessions(h, c, p)))
    if args.burst:
        steps.append(("connect burst", str(args.burst), lambda h: scenarios.burst(h, args.burst, args.burst_seconds)))
    if args.scoring:
        steps.append(("scoring", f"{args.rate:g}/s", lambda h: scenarios.scoring(h, args.scoring, args.rate)))
    if args.kinds:
        steps.append(("kinds", str(args.kinds), lambda h: kinds.kinds(h, args.kinds)))
    if args.fleet:
        shape = [int(x) for x in args.fleet.split("x")]
        steps.append(("fleet", args.fleet, lambda h: scenarios.fleet(h, *shape)))
    return steps


async def run_all(args, stack: Stack) -> list[dict]:
    """Every scenario, then all of them again: a slow drift of the machine touches each
    scenario's repetitions alike."""
    harness = Harness(args, stack)
    await harness.start()
    runs = []
    try:
        for repetition in range(1, args.repeat + 1):
            for scenario, size, step in plan(args):
                if scenario == "bare broadcast" and int(size) not in harness.templates:
                    continue
                started = time.monotonic()
                result = {"scenario": scenario, "size": size, "repetition": repetition}
                try:
                    result.update(await step(harness))
                except Exception as error:  # one failed scenario costs its figures, not the run's
                    traceback.print_exc()
                    result["error"] = f"{type(error).__name__}: {error}"
                    await harness.load.close()
                result["elapsed_s"] = round(time.monotonic() - started, 1)
                runs.append(result)
                print(json.dumps(result), flush=True)
    finally:
        await harness.stop()
    return runs


def machine() -> dict:
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    return {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": platform.platform(),
            "when": time.strftime("%Y-%m-%d %H:%M"), "commit": commit, "load_average_at_start": os.getloadavg()}


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None,
                        help="the run's own database, dropped and created afresh (default: BENCH_DATABASE_URL, "
                             "else DATABASE_URL's name + '_bench', else elsa_bench)")
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 2500, 5000, 10000],
                        help="players in one session")
    parser.add_argument("--spread", type=float, default=10.0, help="players answer within this many seconds")
    parser.add_argument("--no-bare", dest="bare", action="store_false", help="skip the bare broadcast server")
    parser.add_argument("--baseline", type=int, default=1000, help="viewers of the naive baseline (0: skip)")
    parser.add_argument("--sessions", default="200x20", help="COUNTxPLAYERS at once ('' to skip)")
    parser.add_argument("--burst", type=int, default=2000, help="connects at once (0: skip)")
    parser.add_argument("--burst-seconds", type=float, default=0.0,
                        help="offer the burst's connects evenly over this many seconds (0: all at once)")
    parser.add_argument("--scoring", type=float, default=30.0, help="seconds of sustained answers (0: skip)")
    parser.add_argument("--rate", type=float, default=600.0, help="answers per second offered in the scoring run")
    parser.add_argument("--fleet", default="4x100x5",
                        help="PROCESSESxSESSIONS_EACHxPLAYERS: live events received per web process ('' to skip)")
    parser.add_argument("--kinds", type=int, default=50,
                        help="simulated players answering one question of every kind (0: skip)")
    parser.add_argument("--sample", type=int, default=300, help="clients sampled per answer for answer-to-screen")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of every scenario")
    parser.add_argument("--generators", type=int, default=2, help="load generator processes")
    parser.add_argument("--smoke", action="store_true", help="a tiny run of every scenario, twice")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.spread, args.baseline, args.sessions = [20], 2.0, 20, "3x5"
        args.burst, args.scoring, args.rate, args.fleet, args.repeat = 100, 2.0, 50.0, "2x2x3", 2
        args.kinds = 5
    args.database_url = database_url(args.database_url, suffix="_bench_smoke" if args.smoke else "_bench")
    return args


def main(argv=None) -> dict:
    args = parse(argv)
    stack = Stack(args.database_url, RESULTS, generators=args.generators)
    os.environ.update(stack.harness_env())
    import django
    from django.conf import settings

    # The harness polls for scored answers on connections of its own name, which the CPU
    # meter leaves out; its other work (answers it submits itself) counts as the server's.
    default = settings.DATABASES["default"]
    settings.DATABASES["harness"] = {**default, "OPTIONS": {**default.get("OPTIONS", {}), "application_name": HARNESS}}
    django.setup()
    results = {"machine": machine(), "arguments": {k: v for k, v in vars(args).items() if k != "database_url"}}
    try:
        stack.start()
        results["runs"] = asyncio.run(run_all(args, stack))
    finally:
        stack.stop()
    results["machine"]["load_average_at_end"] = os.getloadavg()
    report.write(results, RESULTS)
    return results


if __name__ == "__main__":
    main()
