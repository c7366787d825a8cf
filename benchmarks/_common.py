"""What every benchmark needs: an isolated git environment, real repositories and issue files in
temporary folders, the real CLI in a subprocess, and a plain table printer.

Nothing here reads the developer's home, tokens or global git config: HOME points at a temporary
folder with its own .gitconfig, and inherited GIT_* and secret-looking variables are dropped.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent  # the issuewave checkout


@dataclass(frozen=True)
class Sandbox:
    """A temporary folder with its own HOME; every repository of one benchmark lives in it."""

    folder: Path
    env: dict[str, str]

    def path(self, name: str) -> Path:
        return self.folder / name


def scratch_root() -> Path | None:
    """Where the temporary repositories go: $ISSUEWAVE_BENCH_TMPDIR, else tmpfs when there is one.

    tmpfs keeps the figures about issuewave rather than the disk: on a virtual disk mounted with
    `discard`, creating and deleting the thousands of files of a worktree dominates everything.
    """
    chosen = os.environ.get("ISSUEWAVE_BENCH_TMPDIR")
    if chosen:
        return Path(chosen)
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None


def sandbox(prefix: str) -> Sandbox:
    folder = Path(tempfile.mkdtemp(prefix=f"issuewave-bench-{prefix}-", dir=scratch_root()))
    folder = folder.resolve()
    home = folder / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Bench Author\n\temail = bench@example.com\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
        "[gc]\n\tauto = 0\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_", "ISSUEWAVE_")) and "TOKEN" not in k and "SECRET" not in k
    }
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), NO_COLOR="1")
    return Sandbox(folder, env)


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def git(box: Sandbox, cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=box.env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}:\n{done.stderr}")
    return done.stdout.strip()


def issue_file(number: int, title: str, depends_on: Sequence[int] = (), body: str = "") -> str:
    front: dict[str, object] = {"number": number, "title": title}
    if depends_on:
        front["depends_on"] = list(depends_on)
    # JSON is YAML: a safe way to write any value.
    lines = [f"{key}: {json.dumps(value)}" for key, value in front.items()]
    return "---\n" + "\n".join(lines) + "\n---\n" + body + "\n"


def write_issues(repo: Path, issues: Iterable[tuple[int, str, Sequence[int]]]) -> None:
    folder = repo / ".issuewave" / "issues"
    folder.mkdir(parents=True, exist_ok=True)
    for number, title, deps in issues:
        (folder / f"{number:05d}.md").write_text(issue_file(number, title, deps))


def write_config(repo: Path, **settings: object) -> None:
    lines = [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    (repo / ".issuewave.toml").write_text("\n".join(lines) + "\n")


def init_repo(box: Sandbox, repo: Path) -> None:
    repo.mkdir(parents=True, exist_ok=True)
    git(box, repo, "init", "-q", "-b", "main")


def commit_all(box: Sandbox, repo: Path, message: str) -> None:
    git(box, repo, "add", "-A")
    git(box, repo, "commit", "-q", "-m", message)


@dataclass(frozen=True)
class CliRun:
    returncode: int
    stdout: str
    stderr: str
    wall_s: float


def issuewave(
    box: Sandbox, repo: Path, *args: str, check: bool = True, profile: Path | None = None
) -> CliRun:
    """The real CLI in a subprocess, as a user would run it; under py-spy when `profile` is given
    (every thread sampled, waiting included, as collapsed stacks: `make bench` installs py-spy)."""
    argv = [sys.executable, "-m", "issuewave", *args]
    if profile is not None:
        py_spy = Path(sys.executable).parent / "py-spy"
        argv = [str(py_spy), "record", "--idle", "--threads", "--format", "raw",
                "--rate", "250", "--output", str(profile), "--", *argv]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(
        argv,
        cwd=repo,
        env=box.env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if check and done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise RuntimeError(f"issuewave {' '.join(args)} exited {done.returncode}:\n{tail}")
    return CliRun(done.returncode, done.stdout, done.stderr, wall)


def report(box: Sandbox, repo: Path) -> dict[str, Any]:
    figures: dict[str, Any] = json.loads(issuewave(box, repo, "report", "--json").stdout)
    return figures


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print("  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    sys.stdout.flush()


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def header(title: str, notes: Mapping[str, object]) -> None:
    print(f"\n## {title}\n")
    for key, value in notes.items():
        print(f"{key}: {value}")
    print()
    sys.stdout.flush()


def command_line() -> str:
    """How this benchmark was started, for RESULTS.md."""
    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
    return " ".join([".venv/bin/python", str(shown), *sys.argv[1:]])


def machine() -> dict[str, str]:
    """The facts RESULTS.md records beside the figures."""
    cpu = _first_line_with("/proc/cpuinfo", "model name").partition(":")[2].strip()
    memory = _first_line_with("/proc/meminfo", "MemTotal").partition(":")[2].strip()
    commit = _quiet(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = _quiet(["git", "-C", str(ROOT), "status", "--porcelain"])
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu or platform.processor(),
        "memory": memory,
        "os": _os_name(),
        "python": platform.python_version(),
        "git": _quiet(["git", "--version"]).removeprefix("git version "),
        "issuewave": commit + (" + uncommitted changes" if dirty else ""),
    }


def _first_line_with(path: str, prefix: str) -> str:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return ""
    return next((line for line in lines if line.startswith(prefix)), "")


def _os_name() -> str:
    pretty = _first_line_with("/etc/os-release", "PRETTY_NAME").partition("=")[2].strip('"')
    return f"{pretty or platform.system()} (kernel {platform.release()})"


def _quiet(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def profile_summary(
    path: Path, *, thread: str = "", rate: int = 250, top: int = 25
) -> list[tuple[str, float]]:
    """Inclusive seconds per issuewave function from py-spy's raw output, over the threads whose
    name contains `thread` (all when empty). Time the event loop spent waiting is its own row."""
    seconds: dict[str, float] = {}
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not count.isdigit() or thread not in frames[0]:
            continue
        names = {_function(frame) for frame in frames if "issuewave/" in frame}
        if "select (selectors.py" in frames[-1]:
            names.add("(event loop waiting in select)")
        for name in names | {"(all samples)"}:
            seconds[name] = seconds.get(name, 0.0) + int(count) / rate
    return sorted(seconds.items(), key=lambda item: -item[1])[:top]


def _function(frame: str) -> str:
    """'name (path/issuewave/x.py:12)' -> 'issuewave/x.py:name'."""
    name, _, where = frame.partition(" (")
    file = where.rsplit(":", 1)[0]
    return f"{file[file.rfind('issuewave/') :]}:{name}"
