"""Scheduling: issuewave's measured makespan against strict waves, serial work and the lower bound.

Seeded, reproducible layered DAGs of 20, 100 and 500 issues with skewed durations (most issues
short, a few long ones both on and off the critical path) are written as issue files into a real
git repository and run with the real CLI (`python -m issuewave run --plain --json`) at jobs 2, 4
and 8. The agent sleeps its issue's duration, writes one file and exits; the test command is
`true`. Durations are in units, times a per-graph scale in seconds, chosen so that the whole
benchmark fits its time budget (fewer seconds per unit for the bigger graphs).

Strict waves, sequential time and the lower bound are computed from the same run's measured
per-issue times (`report --json` issues[].duration_s: the agent plus verification), so every
figure of a row comes from one run. Per-issue overhead outside those times (worktree creation,
merged bases, the PR record, the journal) is in issuewave's makespan and in none of the others.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _common as c

SIZES = (20, 100, 500)
JOBS = (2, 4, 8)
SEED = 20250214
# Seconds of agent sleep each graph may spend over its three runs (the sum of the estimated
# makespans at jobs 2, 4 and 8); the scale follows from it. The big graph gets the most: its
# issues are the shortest, so per-issue overhead weighs most there. About 9 minutes on 2 cores.
BUDGET_S = {20: 50.0, 100: 80.0, 500: 330.0}
AGENT = textwrap.dedent(
    """\
    import json, os, pathlib, sys, time
    issue = os.environ["ISSUEWAVE_ISSUE"]
    time.sleep(json.loads(pathlib.Path(sys.argv[1]).read_text())[issue])
    pathlib.Path(f"issue-{issue}.txt").write_text(f"done {issue}\\n")
    print(f"resolved issue {issue}")
    """
)


@dataclass(frozen=True)
class Graph:
    layers: list[list[int]]
    deps: dict[int, list[int]]
    units: dict[int, float]  # duration of each issue, in units


def layered_dag(size: int, seed: int) -> Graph:
    """Layers of issues, each depending on 1-3 issues of earlier layers (one of the layer just
    before, so the waves are the layers). Most issues take 0.5-1.5 units, 15% take 2-4, and 3%
    are long (10-20 units: an hour-long task beside five-minute ones), at random. On top, a spine
    runs through every layer with two long issues on it (on the critical path), and a few long
    leaves in the early layers have no dependents (long, but off the critical path).
    """
    rng = random.Random(f"{seed}-{size}")
    layers = _layer_numbers(size, max(4, round(size**0.4)), rng)
    units = {n: _short_or_medium(rng) for layer in layers for n in layer}
    for n in rng.sample(sorted(units), max(1, round(size * 0.03))):
        units[n] = round(rng.uniform(10.0, 20.0), 2)
    spine = [layer[0] for layer in layers]
    leaves = {n for layer in layers[:-1] for n in layer[1:] if rng.random() < 0.15}
    deps: dict[int, list[int]] = {n: [] for n in units}
    for k, layer in enumerate(layers[1:], start=1):
        feeders = [n for n in layers[k - 1] if n not in leaves]
        earlier = [n for layer_ in layers[:k] for n in layer_ if n not in leaves]
        for n in layer:
            chosen = {spine[k - 1]} if n == spine[k] else {rng.choice(feeders)}
            chosen |= {rng.choice(earlier) for _ in range(rng.choice((0, 0, 1, 1, 2)))}
            deps[n] = sorted(chosen)
    for at in (len(layers) // 3, 2 * len(layers) // 3):
        units[spine[at]] = 15.0
    early_leaves = sorted(n for n in leaves if n in layers[0] or n in layers[1])
    for leaf in early_leaves[: max(1, size // 100)]:
        units[leaf] = 16.0
    return Graph(layers, deps, units)


def _layer_numbers(size: int, count: int, rng: random.Random) -> list[list[int]]:
    weights = [rng.uniform(0.7, 1.3) for _ in range(count)]
    sizes = [max(1, round(size * w / sum(weights))) for w in weights]
    sizes[-1] += size - sum(sizes)
    numbers = iter(range(1, size + 1))
    return [[next(numbers) for _ in range(s)] for s in sizes]


def _short_or_medium(rng: random.Random) -> float:
    if rng.random() < 0.15:
        return round(rng.uniform(2.0, 4.0), 2)
    return round(rng.uniform(0.5, 1.5), 2)  # most issues


# --- figures from measured times ---------------------------------------------------------------
def critical_path(deps: Mapping[int, Sequence[int]], seconds: Mapping[int, float]) -> float:
    finish: dict[int, float] = {}
    for n in sorted(deps):  # issue numbers follow the layers: dependencies come first
        finish[n] = seconds[n] + max((finish[d] for d in deps[n]), default=0.0)
    return max(finish.values())


def longest_first(durations: Sequence[float], jobs: int) -> float:
    """Makespan of independent jobs on `jobs` slots, longest first: one strict wave."""
    slots = [0.0] * jobs
    for duration in sorted(durations, reverse=True):
        heapq.heapreplace(slots, slots[0] + duration)
    return max(slots)


def strict_waves(waves: Mapping[int, Sequence[float]], jobs: int) -> float:
    return sum(longest_first(waves[w], jobs) for w in sorted(waves))


def estimated_units(graph: Graph, jobs: int) -> float:
    return max(critical_path(graph.deps, graph.units), sum(graph.units.values()) / jobs)


def scale_for(graph: Graph, budget_s: float) -> float:
    """Seconds per unit, to two significant digits, so the three runs fit `budget_s`."""
    raw = budget_s / sum(estimated_units(graph, jobs) for jobs in JOBS)
    return float(f"{raw:.2g}")


# --- one case ----------------------------------------------------------------------------------
def make_repository(box: c.Sandbox, graph: Graph, scale: float, jobs: int) -> Path:
    repo = box.path(f"dag{len(graph.units)}-j{jobs}")
    c.init_repo(box, repo)
    scratch = box.path(f"dag{len(graph.units)}-j{jobs}-agent")
    scratch.mkdir()
    (scratch / "agent.py").write_text(AGENT)
    durations = {str(n): round(u * scale, 4) for n, u in graph.units.items()}
    (scratch / "durations.json").write_text(json.dumps(durations))
    issues = ((n, f"Synthetic issue {n}", graph.deps[n]) for n in sorted(graph.units))
    c.write_issues(repo, issues)
    (repo / "README.md").write_text("A synthetic backlog for the scheduling benchmark.\n")
    agent = f"{sys.executable} -I -S {scratch / 'agent.py'} {scratch / 'durations.json'}"
    c.write_config(
        repo, agent="command", agent_cmd=agent, test_cmd="true", timeout=600, max_attempts=1
    )
    c.commit_all(box, repo, "a synthetic backlog")
    return repo


def run_case(
    box: c.Sandbox, graph: Graph, scale: float, jobs: int, profile: Path | None, keep: bool
) -> list[object]:
    repo = make_repository(box, graph, scale, jobs)
    spy = profile / f"scheduling-{len(graph.units)}-j{jobs}.txt" if profile else None
    run = c.issuewave(box, repo, "run", "--plain", "--json", "--jobs", str(jobs), profile=spy)
    # py-spy prints to stdout too; `report --json` gives the same figures from the journal.
    figures: dict[str, Any] = json.loads(run.stdout) if spy is None else c.report(box, repo)
    if not keep:
        c.remove(repo)
    return row(figures, len(graph.units), jobs, scale, run.wall_s)


def row(figures: dict[str, Any], size: int, jobs: int, scale: float, wall: float) -> list[object]:
    issues = figures["issues"]
    failed = [i["number"] for i in issues if i["status"] != "succeeded"]
    if failed:
        raise RuntimeError(f"{size} issues, jobs={jobs}: not succeeded: {failed[:10]}")
    seconds = {i["number"]: i["duration_s"] for i in issues}
    deps = {i["number"]: i["depends_on"] for i in issues}
    waves: dict[int, list[float]] = {}
    for i in issues:
        waves.setdefault(i["wave"], []).append(i["duration_s"])
    total = sum(seconds.values())
    path = critical_path(deps, seconds)
    lower = max(path, total / jobs)
    reported = figures["run"]["lower_bound_s"]
    if abs(reported - lower) > 0.01 * lower:
        print(f"warning: report's lower bound {reported} differs from {lower:.3f}")
    makespan = figures["run"]["makespan_s"]
    waved = strict_waves(waves, jobs)
    return [
        size, jobs, scale, wall, makespan, waved, total, path, total / jobs, lower,
        makespan / lower, waved / lower, makespan / waved,
    ]  # fmt: skip


HEADERS = [
    "issues", "jobs", "s/unit", "process s", "issuewave s", "strict waves s", "sequential s",
    "crit. path s", "total/jobs s", "lower bound s", "issuewave/LB", "waves/LB", "iw/waves",
]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--jobs", type=int, nargs="+", default=list(JOBS))
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--scale", type=float, help="seconds per unit for every graph")
    parser.add_argument("--profile", type=Path, help="folder for py-spy profiles of each run")
    parser.add_argument("--keep", action="store_true", help="keep the repositories and journals")
    args = parser.parse_args()
    graphs = {size: layered_dag(size, args.seed) for size in args.sizes}
    scales = {
        size: args.scale or scale_for(g, BUDGET_S.get(size, 100.0)) for size, g in graphs.items()
    }
    describe(graphs, scales, args.seed)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    box = c.sandbox("scheduling")
    rows = []
    try:
        for size, graph in graphs.items():
            for jobs in args.jobs:
                rows.append(run_case(box, graph, scales[size], jobs, args.profile, args.keep))
                print(f"  done: {size} issues, jobs={jobs}", file=sys.stderr, flush=True)
    finally:
        if args.keep:
            print(f"kept: {box.folder}", file=sys.stderr)
        else:
            c.remove(box.folder)
    c.print_table(HEADERS, rows)
    summary(rows)
    return 0


def describe(graphs: Mapping[int, Graph], scales: Mapping[int, float], seed: int) -> None:
    c.header(
        "Scheduling: measured makespan against strict waves and the lower bound",
        {
            "command": c.command_line(),
            "seed": seed,
            "agent": "sleeps its issue's duration (units × s/unit), writes one file, exits",
            "test command": "true",
            "process s": "wall time of the `issuewave run` process, start-up and pre-checks in",
            "issuewave s": "run.makespan_s: first attempt's start to the last issue's end",
            "strict waves, sequential, crit. path, lower bound": "computed from this run's "
            "measured per-issue times (agent + verification); strict waves: each wave waits for "
            "its slowest issue, issues placed longest first, no overhead (optimistic for waves)",
            "lower bound (LB)": "max(critical path, total / jobs)",
        },
    )
    rows = []
    for size, graph in graphs.items():
        units = sorted(graph.units.values())
        links = sum(len(d) for d in graph.deps.values())
        long_ = sum(u >= 10 for u in units)
        path = critical_path(graph.deps, graph.units)
        median = units[len(units) // 2]
        rows.append([size, len(graph.layers), links, median, long_, sum(units), path, scales[size]])
    print("The graphs (durations in units):\n")
    c.print_table(
        ["issues", "waves", "links", "median", "long (≥10)", "total", "crit. path", "s/unit"], rows
    )
    print()


def summary(rows: Sequence[Sequence[object]]) -> None:
    ratios = [float(r[10]) for r in rows]  # type: ignore[arg-type]
    versus = [float(r[12]) for r in rows]  # type: ignore[arg-type]
    print(
        f"\nissuewave / lower bound: worst {max(ratios):.3f}, mean {sum(ratios) / len(ratios):.3f}"
        f" (target ≤ 1.10 on every case); issuewave / strict waves: worst {max(versus):.3f}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
