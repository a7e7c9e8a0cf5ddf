"""A small run of every benchmark scenario, so the benchmark cannot rot unnoticed.

The figures of a smoke run mean nothing; what is checked is that every scenario runs
against the real stack and that every run ends exact."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.worker
def test_the_benchmark_runs_every_scenario_and_every_run_is_exact(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--smoke"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "BENCH_DATABASE_URL": "postgres://postgres@127.0.0.1:5432/elsa_bench_smoke",
             "BENCH_RESULTS": str(tmp_path)},
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    runs = {r["scenario"]: r for r in results["runs"]}
    assert set(runs) == {"room", "naive baseline", "sessions", "connect burst", "scoring"}
    assert runs["room"]["exact"] and runs["sessions"]["exact"] and runs["scoring"]["exact"]
    assert runs["room"]["connected"] == runs["room"]["players"] and runs["room"]["answer_to_screen"]["n"] > 0
    assert runs["connect burst"]["accepted"] == runs["connect burst"]["clients"]
    assert runs["connect burst"]["server_errors"] == []
    assert (tmp_path / "latency.png").stat().st_size > 0
    assert "| room | 20 |" in out.stdout
