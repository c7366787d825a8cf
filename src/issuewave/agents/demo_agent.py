"""The `demo` agent: a deterministic stand-in for an AI coding agent, used by `issuewave demo`.

It does no thinking. For issue N on attempt K it waits the time the demo's manifest gives the issue,
then copies the files prepared under `demo_data/changes/issue-N/attempt-J` into the worktree, J
being the highest prepared attempt not above K, and prints a final message. Like a real agent it can
claim a success it did not achieve: one prepared first attempt has a bug that only issuewave's own
test run reveals, and the retry receives that test output as feedback.

Environment:
    ISSUEWAVE_ISSUE             issue number
    ISSUEWAVE_WORKTREE          the worktree to write into; nothing outside it is ever written
    ISSUEWAVE_ATTEMPT           attempt number, 1 for the first
    ISSUEWAVE_FEEDBACK_FILE     the previous attempt's failing test output; required from attempt 2
    ISSUEWAVE_DEMO_TIME_SCALE   optional factor applied to the waits (default 1; 0 skips them)

The changes are left uncommitted: committing them is issuewave's job. Exit code 0 once the files
are written, 1 with a message on stderr otherwise. The last line of stdout is the final message.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

ATTEMPT_PREFIX = "attempt-"
# Build and test leftovers that must never be copied into a worktree.
SKIPPED_NAMES = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache"})


class DemoAgentError(Exception):
    """An expected failure: printed on stderr as one line, exit code 1."""


@dataclass(frozen=True)
class Script:
    """What the manifest says about one issue."""

    duration_seconds: float
    final_messages: dict[int, str]


def data_root() -> Traversable:
    return files("issuewave") / "demo_data"


def read_script(root: Traversable, issue: int) -> Script:
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    entry = manifest["issues"].get(str(issue))
    if entry is None:
        known = ", ".join(f"#{number}" for number in manifest["issues"])
        raise DemoAgentError(f"the demo has no issue #{issue} (it knows {known})")
    messages = {int(attempt): str(text) for attempt, text in entry["final_messages"].items()}
    return Script(float(entry["duration_seconds"]), messages)


def prepared_attempts(root: Traversable, issue: int) -> list[int]:
    folder = root / "changes" / f"issue-{issue}"
    if not folder.is_dir():
        raise DemoAgentError(f"the demo has no prepared changes for issue #{issue}")
    numbers = [child.name.removeprefix(ATTEMPT_PREFIX) for child in folder.iterdir()]
    return sorted(int(number) for number in numbers if number.isdigit())


def pick_attempt(prepared: list[int], attempt: int) -> int:
    """The latest prepared attempt not above `attempt`: later retries repeat the last one."""
    candidates = [number for number in prepared if number <= attempt]
    if not candidates:
        raise DemoAgentError(f"no prepared change for attempt {attempt} (prepared: {prepared})")
    return max(candidates)


def iter_files(folder: Traversable, prefix: PurePosixPath) -> Iterator[tuple[PurePosixPath, bytes]]:
    """Every file under `folder` as (path relative to the project root, content), sorted."""
    for child in sorted(folder.iterdir(), key=lambda item: item.name):
        if child.name in SKIPPED_NAMES or child.name.endswith(".pyc"):
            continue
        if child.is_dir():
            yield from iter_files(child, prefix / child.name)
        else:
            yield prefix / child.name, child.read_bytes()


def destination(worktree: Path, relative: PurePosixPath) -> Path:
    """Where `relative` goes in the worktree; refuses anything that would land outside it."""
    target = (worktree / relative).resolve()
    if relative.is_absolute() or not target.is_relative_to(worktree):
        raise DemoAgentError(f"refusing to write {relative}: it resolves outside {worktree}")
    return target


def plan_writes(
    worktree: Path, changes: list[tuple[PurePosixPath, bytes]]
) -> list[tuple[Path, PurePosixPath, bytes]]:
    """Check every destination before writing any, so a refusal leaves the worktree untouched."""
    return [(destination(worktree, relative), relative, content) for relative, content in changes]


def write_files(writes: list[tuple[Path, PurePosixPath, bytes]]) -> None:
    for target, relative, content in writes:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        say(f"wrote {relative}")


def read_feedback(env: Mapping[str, str], attempt: int) -> None:
    """From attempt 2 on, the previous attempt's failing test output must be there to learn from."""
    if attempt < 2:
        return
    name = env.get("ISSUEWAVE_FEEDBACK_FILE", "")
    if not name or not Path(name).is_file():
        raise DemoAgentError(f"attempt {attempt} needs ISSUEWAVE_FEEDBACK_FILE (got {name!r})")
    lines = Path(name).read_text(encoding="utf-8", errors="replace").splitlines()
    say(f"read feedback from the previous attempt: {name} ({len(lines)} lines)")


def required(env: Mapping[str, str], key: str) -> str:
    value = env.get(key, "")
    if not value:
        raise DemoAgentError(f"{key} is not set")
    return value


def positive_int(env: Mapping[str, str], key: str) -> int:
    value = required(env, key)
    if not value.isdigit() or int(value) < 1:
        raise DemoAgentError(f"{key} must be a positive integer, got {value!r}")
    return int(value)


def time_scale(env: Mapping[str, str]) -> float:
    value = env.get("ISSUEWAVE_DEMO_TIME_SCALE", "1")
    try:
        scale = float(value)
    except ValueError:
        raise DemoAgentError(f"ISSUEWAVE_DEMO_TIME_SCALE must be a number, got {value!r}") from None
    if not scale >= 0:  # also rejects nan
        raise DemoAgentError(f"ISSUEWAVE_DEMO_TIME_SCALE must be >= 0, got {value!r}")
    return scale


def worktree_path(env: Mapping[str, str]) -> Path:
    worktree = Path(required(env, "ISSUEWAVE_WORKTREE")).resolve()
    if not worktree.is_dir():
        raise DemoAgentError(f"ISSUEWAVE_WORKTREE is not a directory: {worktree}")
    return worktree


def say(line: str) -> None:
    # Flushed at once so the runner's log shows progress while the agent still "works".
    print(line, flush=True)


def run(env: Mapping[str, str]) -> str:
    """Do the prepared work for one issue and attempt; return the final message."""
    issue = positive_int(env, "ISSUEWAVE_ISSUE")
    attempt = positive_int(env, "ISSUEWAVE_ATTEMPT")
    worktree = worktree_path(env)
    scale = time_scale(env)
    root = data_root()
    script = read_script(root, issue)
    chosen = pick_attempt(prepared_attempts(root, issue), attempt)
    say(f"demo agent: issue #{issue}, attempt {attempt}, in {worktree}")
    read_feedback(env, attempt)
    folder = root / "changes" / f"issue-{issue}" / f"{ATTEMPT_PREFIX}{chosen}"
    writes = plan_writes(worktree, list(iter_files(folder, PurePosixPath())))
    say(f"working for {script.duration_seconds:g} s on {len(writes)} files")
    time.sleep(script.duration_seconds * scale)
    write_files(writes)
    return script.final_messages.get(chosen, f"Finished issue #{issue}.")


def main() -> int:
    try:
        message = run(os.environ)
    except DemoAgentError as error:
        print(f"demo agent: {error}", file=sys.stderr)
        return 1
    say(message)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
