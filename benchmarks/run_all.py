"""Run every benchmark, one after the other, each in its own process; print the machine first.

    .venv/bin/python benchmarks/run_all.py                 # all four (what `make bench` runs)
    .venv/bin/python benchmarks/run_all.py scale memory    # some of them

Benchmarks print figures measured side by side in one run; none of them gates on a time.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import _common as c

HERE = Path(__file__).resolve().parent
ORDER = ("scale", "memory", "overhead", "scheduling")


def main(names: list[str]) -> int:
    chosen = names or list(ORDER)
    unknown = [n for n in chosen if n not in ORDER]
    if unknown:
        print(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(ORDER)}", file=sys.stderr)
        return 2
    print("# issuewave benchmarks\n")
    for key, value in c.machine().items():
        print(f"{key}: {value}")
    worst = 0
    for name in chosen:
        started = time.perf_counter()
        code = subprocess.run([sys.executable, str(HERE / f"{name}.py")], check=False).returncode
        print(f"\n({name}: {time.perf_counter() - started:.0f} s, exit {code})", flush=True)
        worst = max(worst, code)
    return worst


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
