"""Scale: planning 10,000 issues with 30,000 dependency links.

The issue files are written to a temporary folder (two dependencies in `depends_on`, one as a
"Depends on #N" line in the body, so both the YAML front matter and the body's text forms are
read), then parsed with `issuewave.forges.local_issues.read_issues_dir` and planned with
`issuewave.plan.build_plan` (validation, waves, critical path, priorities), in a fresh Python
process each time: wall time of each step, and peak memory two ways: the process's peak RSS
(ru_maxrss, interpreter and imports included) and the peak of Python allocations during the
work (tracemalloc, in a separate process because tracing slows everything down).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
from pathlib import Path

import _common as c

ISSUES = 10_000
LINKS = 30_000
WINDOW = 300  # dependencies are chosen among the previous WINDOW issues: long chains, many waves
SEED = 20250214
REPEATS = 5
LABELS = ("backend", "frontend", "docs", "research", "design", "bug")
BODY = (
    "Implement the {area} part of the feature described in the design document. Keep the\n"
    "public interface unchanged and add tests for the new behaviour.\n\n"
    "Depends on #{dep}.\n\n"
    "See also the notes in the wiki; `#1` in code does not count.\n"
)
# What the fresh process runs; prints one JSON line of figures.
CHILD = """
import json, resource, sys, time
started = time.perf_counter()
from pathlib import Path
from issuewave.forges.local_issues import read_issues_dir
from issuewave.plan import build_plan
imported = time.perf_counter()
trace = sys.argv[2] == "trace"
if trace:
    import tracemalloc
    tracemalloc.start()
t0 = time.perf_counter()
issues = read_issues_dir(Path(sys.argv[1]))
t1 = time.perf_counter()
plan = build_plan(issues)
t2 = time.perf_counter()
peak = tracemalloc.get_traced_memory()[1] if trace else None
print(json.dumps({
    "import_s": imported - started, "parse_s": t1 - t0, "plan_s": t2 - t1, "total_s": t2 - t0,
    "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "traced_peak_mb": peak / 2**20 if peak is not None else None,
    "issues": len(plan.issues), "links": sum(len(d) for d in plan.deps.values()),
    "waves": len(plan.waves), "critical_path": len(plan.critical_path),
}))
"""


def dependencies(issues: int, links: int, rng: random.Random) -> dict[int, list[int]]:
    """Three distinct earlier issues each (fewer for the first ones), topped up to `links`."""
    deps = {
        n: rng.sample(range(max(1, n - WINDOW), n), min(3, n - 1)) for n in range(1, issues + 1)
    }
    missing = links - sum(len(d) for d in deps.values())
    for n in range(issues, issues - missing, -1):
        extra = rng.choice([m for m in range(n - WINDOW, n) if m not in deps[n]])
        deps[n].append(extra)
    return deps


def write_issues(folder: Path, issues: int, links: int, seed: int) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    for n, deps in dependencies(issues, links, rng).items():
        front = [f"number: {n}", f"title: {json.dumps(f'Backlog item {n}: part of the rework')}"]
        front.append(f"labels: [{rng.choice(LABELS)}]")
        declared, in_body = deps[:-1], deps[-1:]
        if declared:
            front.append(f"depends_on: [{', '.join(map(str, declared))}]")
        body = BODY.format(area=rng.choice(LABELS), dep=in_body[0]) if in_body else "A root.\n"
        (folder / f"{n:05d}.md").write_text("---\n" + "\n".join(front) + "\n---\n" + body)


def measure(folder: Path, mode: str, env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), mode],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=ISSUES)
    parser.add_argument("--links", type=int, default=LINKS)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args()
    box = c.sandbox("scale")
    try:
        folder = box.path("issues")
        write_issues(folder, args.issues, args.links, SEED)
        runs = [measure(folder, "time", box.env) for _ in range(args.repeats)]
        traced = measure(folder, "trace", box.env)
    finally:
        c.remove(box.folder)
    report(runs, traced, args.repeats)
    return 0


def report(runs: list[dict[str, float]], traced: dict[str, float], repeats: int) -> None:
    first = runs[0]
    c.header(
        f"Scale: planning {first['issues']} issues with {first['links']} dependency links",
        {
            "command": c.command_line(),
            "each figure": f"median of {repeats} fresh processes (files in the page cache)",
            "plan": f"{first['waves']} waves, critical path of {first['critical_path']} issues",
            "YAML loader": "libyaml (CSafeLoader)" if _has_libyaml() else "pure Python",
        },
    )

    def median(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    rows: list[list[object]] = [
        ["parse: read_issues_dir (read, YAML, validate, body links)", median("parse_s")],
        ["plan: build_plan (validate, waves, critical path, priorities)", median("plan_s")],
        ["parse + plan", median("total_s")],
        ["(import of issuewave, not counted above)", median("import_s")],
    ]
    c.print_table(["step", "wall s"], rows)
    print()
    c.print_table(
        ["memory", "MB"],
        [
            ["peak RSS of the process (ru_maxrss, interpreter included)", median("maxrss_mb")],
            ["peak of Python allocations in parse + plan (tracemalloc)", traced["traced_peak_mb"]],
        ],
    )
    print(f"\ntargets: parse + plan under 1 s ({median('total_s'):.3f} s), under 200 MB")


def _has_libyaml() -> bool:
    import yaml

    return hasattr(yaml, "CSafeLoader")


if __name__ == "__main__":
    raise SystemExit(main())
