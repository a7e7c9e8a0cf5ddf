"""The report of a run: every figure as the median of its repetitions with their range,
as tables on stdout, results.json and a chart."""

import json
import statistics
from collections import defaultdict
from pathlib import Path


def flatten(result: dict, prefix: str = "") -> dict:
    """{"lock_in": {"p95": 3}} -> {"lock_in.p95": 3}, numbers only."""
    flat = {}
    for key, value in result.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[f"{prefix}{key}"] = value
    return flat


def aggregate(runs: list[dict]) -> list[dict]:
    """One entry per scenario and size: each figure's median, min and max over repetitions."""
    groups = defaultdict(list)
    for run in runs:
        groups[(run["scenario"], run["size"])].append(run)
    summaries = []
    for (scenario, size), group in groups.items():
        figures = defaultdict(list)
        for run in group:
            for key, value in flatten(run).items():
                figures[key].append(value)
        summaries.append({
            "scenario": scenario, "size": size, "repetitions": len(group),
            "exact": sum(1 for run in group if run.get("exact")) if "exact" in group[0] else None,
            "figures": {key: {"median": statistics.median(v), "min": min(v), "max": max(v)}
                        for key, v in figures.items()},
        })
    return summaries


def cell(summary: dict, key: str, digits: int = 0) -> str:
    figure = summary["figures"].get(key)
    if figure is None:
        return "-"
    def number(value):
        return f"{value:,.{digits}f}"
    if figure["min"] == figure["max"]:
        return number(figure["median"])
    return f"{number(figure['median'])} ({number(figure['min'])}–{number(figure['max'])})"


COLUMNS = [
    ("connected", "connected", 0),
    ("lock-in p95 ms", "lock_in.p95", 0),
    ("question delivery p95 ms", "question_delivery.p95", 0),
    ("answer-to-screen p95 ms", "answer_to_screen.p95", 0),
    ("fan-out spread p95 ms", "fanout.spread.p95", 0),
    ("board frames/s", "fanout.frames_per_s", 0),
    ("server CPU-s / 1,000 answers", "cost.server_cpu_s_per_1000_answers", 2),
    ("server CPU-s / 1,000 frames", "cost.server_cpu_s_per_1000_frames", 3),
    ("generator CPU-s / 1,000 frames", "cost.generator_cpu_s_per_1000_frames", 3),
]


def tables(summaries: list[dict], runs: list[dict], machine: dict) -> str:
    by = {(s["scenario"], s["size"]): s for s in summaries}
    lines = [f"median (min–max) of {max((s['repetitions'] for s in summaries), default=0)} repetitions; "
             f"commit {machine['commit']}, {machine['cpus']} cores, load average at start "
             f"{machine['load_average_at_start'][0]:.2f}, at end {machine.get('load_average_at_end', [0])[0]:.2f}", "",
             "| scenario | size | " + " | ".join(title for title, _, _ in COLUMNS) + " | exact |",
             "|---|---|" + "---|" * (len(COLUMNS) + 1)]
    for s in summaries:
        if s["scenario"] in {"room", "bare broadcast", "naive baseline", "sessions", "fleet"}:
            exact = "-" if s["exact"] is None else f"{s['exact']}/{s['repetitions']}"
            lines.append(f"| {s['scenario']} | {s['size']} | " + " | ".join(cell(s, key, d) for _, key, d in COLUMNS)
                         + f" | {exact} |")
    lines += ["", "Server CPU-seconds in each measured window, by part:", "",
              "| scenario | size | web | worker | postgres | redis | generators |", "|---|---|---|---|---|---|---|"]
    for s in summaries:
        if "cost.server_cpu_s" in s["figures"]:
            lines.append(f"| {s['scenario']} | {s['size']} | " + " | ".join(
                cell(s, f"cost.cpu_s.{part}", 2) for part in ("web", "worker", "postgres", "redis"))
                + f" | {cell(s, 'cost.generator_cpu_s', 2)} |")
    lines.append("")
    for run in runs:
        if "error" in run:
            lines.append(f"FAILED: {run['scenario']} {run['size']}, repetition {run['repetition']}: {run['error']}")
    for s in summaries:
        limit = by.get(("bare broadcast", s["size"]))
        if s["scenario"] == "room" and limit:
            lines.append(f"room {s['size']} against the bare broadcast server: the hub delivered "
                         f"{ratio(s, limit, 'fanout.frames_per_s', percent=True)} of its board frames/s, with "
                         f"{ratio(s, limit, 'fanout.spread.p95')} its fan-out spread p95 and "
                         f"{ratio(s, limit, 'cost.web_cpu_s_per_1000_frames')} its web CPU per frame "
                         "(answers included)")
        if s["scenario"] == "naive baseline" and ("room", s["size"]) in by:
            room = by[("room", s["size"])]
            lines.append(f"naive baseline / product at {s['size']}: answer-to-screen p95 "
                         f"{ratio(s, room, 'answer_to_screen.p95')}, server CPU per frame "
                         f"{ratio(s, room, 'cost.server_cpu_s_per_1000_frames')}")
        if s["scenario"] == "connect burst":
            lines.append(f"connect burst: {cell(s, 'accepted')} of {int(s['size']):,} accepted, all open within "
                         f"{cell(s, 'opened_within_s', 2)} s (the last offered at {cell(s, 'last_offered_s', 2)} s; "
                         f"each from its offer to its snapshot p95 {cell(s, 'connect.p95')} ms, max "
                         f"{cell(s, 'connect.max')} ms), {cell(s, 'with_snapshot')} with a snapshot, "
                         f"server CPU-s per 1,000 connects {cell(s, 'cost.server_cpu_s_per_1000_connects', 2)}")
        if s["scenario"] == "scoring":
            lines.append(f"scoring: offered {cell(s, 'offered_per_s')}/s, scored {cell(s, 'scored_per_s')}/s, lag p95 "
                         f"{cell(s, 'scoring_lag.p95')} ms, server CPU-s per 1,000 answers "
                         f"{cell(s, 'cost.server_cpu_s_per_1000_answers', 2)}, exact {s['exact']}/{s['repetitions']}")
        if s["scenario"] == "kinds":
            lines.append(f"every kind: {s['size']} simulated players answered one question of each of the six kinds, "
                         f"{cell(s, 'answers')} answers, server CPU-s per 1,000 answers "
                         f"{cell(s, 'cost.server_cpu_s_per_1000_answers', 2)}, exact {s['exact']}/{s['repetitions']}")
        if s["scenario"] == "fleet":
            lines.append(f"fleet {s['size']}: each web process received {cell(s, 'received_over_own', 2)}x the events "
                         f"its own sessions published ({cell(s, 'events_published')} published in all)")
    return "\n".join(lines)


def ratio(ours: dict, theirs: dict, key: str, *, percent: bool = False) -> str:
    a, b = ours["figures"].get(key), theirs["figures"].get(key)
    if not a or not b or not b["median"]:
        return "-"
    value = a["median"] / b["median"]
    return f"{value:.0%}" if percent else f"{value:.1f}x"


def chart(summaries: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rooms = sorted((s for s in summaries if s["scenario"] == "room"), key=lambda s: int(s["size"]))
    if not rooms:
        return
    figure, (latency, cost) = plt.subplots(1, 2, figsize=(12, 4.5))

    def line(axis, group, key, label, **style):
        points = [(int(s["size"]), s["figures"][key]) for s in group if key in s["figures"]]
        if points:
            x = [p for p, _ in points]
            y = [f["median"] for _, f in points]
            spread = [[f["median"] - f["min"] for _, f in points], [f["max"] - f["median"] for _, f in points]]
            axis.errorbar(x, y, yerr=spread, marker="o", capsize=3, label=label, **style)

    bare = sorted((s for s in summaries if s["scenario"] == "bare broadcast"), key=lambda s: int(s["size"]))
    line(latency, rooms, "answer_to_screen.p95", "answer-to-screen p95")
    line(latency, rooms, "lock_in.p95", "lock-in p95", linestyle="--")
    line(latency, rooms, "question_delivery.p95", "question delivery p95", linestyle=":")
    line(latency, rooms, "fanout.spread.p95", "hub fan-out spread p95", linestyle="-.")
    line(latency, bare, "fanout.spread.p95", "bare server fan-out spread p95", color="grey")
    for s in summaries:
        if s["scenario"] == "naive baseline" and "answer_to_screen.p95" in s["figures"]:
            latency.scatter([int(s["size"])], [s["figures"]["answer_to_screen.p95"]["median"]], color="red", zorder=5,
                            label="naive baseline answer-to-screen p95")
    latency.set(xlabel="players in one session", ylabel="ms (median of repetitions, bars: min–max)", yscale="log",
                title="Latency against players")
    line(cost, rooms, "cost.server_cpu_s_per_1000_frames", "product: server CPU-s / 1,000 frames")
    line(cost, rooms, "cost.web_cpu_s_per_1000_frames", "product: web process CPU-s / 1,000 frames", linestyle="--")
    line(cost, bare, "cost.server_cpu_s_per_1000_frames", "bare server: CPU-s / 1,000 frames", color="grey")
    line(cost, rooms, "cost.generator_cpu_s_per_1000_frames", "load generator: CPU-s / 1,000 frames", linestyle=":")
    cost.set(xlabel="players in one session", ylabel="CPU-seconds", yscale="log",
             title="Cost per 1,000 frames delivered")
    for axis in (latency, cost):
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    figure.suptitle("ELSA Live Quiz on 2 cores, load generators included")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write(results: dict, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    results["summary"] = aggregate(results["runs"])
    (folder / "results.json").write_text(json.dumps(results, indent=1))
    print("\n" + tables(results["summary"], results["runs"], results["machine"]))
    chart(results["summary"], folder / "latency.png")
    print(f"\nwritten: {folder / 'results.json'}, {folder / 'latency.png'}")
