"""A small run of every benchmark scenario, twice, so the benchmark cannot rot unnoticed.

The figures of a smoke run mean nothing; what is checked is that every scenario runs
against the real stack, that every run ends exact, and that every measurement is taken
(frames seen by the naive baseline's viewers, server and generator CPU, events counted
per web process). Its database is named after the test database (DATABASE_URL +
"_bench_smoke") and its Redis is private, so checkouts testing side by side do not meet."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {"room", "bare broadcast", "naive baseline", "sessions", "connect burst", "scoring", "kinds", "fleet"}


@pytest.mark.worker
def test_the_benchmark_runs_every_scenario_and_every_run_is_exact(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--smoke"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "BENCH_RESULTS": str(tmp_path)},
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert [run for run in results["runs"] if "error" in run] == []
    runs: dict[str, list[dict]] = {}
    for run in results["runs"]:
        runs.setdefault(run["scenario"], []).append(run)
    assert set(runs) == SCENARIOS and all(len(group) == 2 for group in runs.values())
    for scenario in ("room", "sessions", "scoring", "kinds", "fleet"):
        assert all(run["exact"] for run in runs[scenario]), runs[scenario]
    for room in runs["room"]:
        assert room["connected"] == room["players"] and room["answer_to_screen"]["n"] > 0
        assert room["cost"]["server_cpu_s"] > 0 and room["cost"]["frames"] > 0
    # A small window's generator CPU can be under one clock tick; over the run it is not.
    assert sum(run["cost"]["generator_cpu_s"] for run in results["runs"] if "cost" in run) > 0
    for naive in runs["naive baseline"]:  # its viewers see the board move, answer by answer
        assert naive["frames_per_client"] > 0 and naive["answer_to_screen"]["n"] > 0
    for bare in runs["bare broadcast"]:
        assert bare["connected"] == bare["players"] and bare["fanout"]["frames_per_s"] > 0
    for burst in runs["connect burst"]:
        assert burst["accepted"] == burst["clients"] and burst["server_errors"] == []
    for kinds in runs["kinds"]:  # simulated players answered a question of every kind, all scored
        assert len(kinds["by_kind"]) == 6 and all(n > 0 for n, _ in kinds["by_kind"].values()), kinds["by_kind"]
    for fleet in runs["fleet"]:  # every process hears at least its own sessions' events
        assert all(p["received"] >= p["own_sessions"] > 0 for p in fleet["per_process"]), fleet["per_process"]
    room = next(s for s in results["summary"] if s["scenario"] == "room")
    assert room["repetitions"] == 2 and room["exact"] == 2
    assert set(room["figures"]["lock_in.p95"]) == {"median", "min", "max"}
    assert (tmp_path / "latency.png").stat().st_size > 0
    assert "| room | 20 |" in out.stdout and "against the bare broadcast server" in out.stdout
