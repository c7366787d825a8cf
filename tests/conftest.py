"""Fixture helpers: real git repositories in temporary folders, real issuewave processes.

Nothing here reads the developer's home, tokens or global git config: HOME points at a temporary
folder with its own .gitconfig (pinned identity), and secrets are removed from the environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PINNED_DATE = "2025-02-14T12:00:00+00:00"
# A test runner that starts in milliseconds: runs every checks/*.py; any exception fails the run.
CHECK_RUNNER = textwrap.dedent(
    """\
    import pathlib, runpy, sys, traceback
    failed = []
    for path in sorted(pathlib.Path("checks").glob("*.py")):
        try:
            runpy.run_path(str(path))
        except Exception:
            traceback.print_exc()
            failed.append(path.name)
            print(f"FAILED checks/{path.name}")
    print(f"{len(failed)} failed")
    sys.exit(1 if failed else 0)
    """
)


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test Author\n\temail = test@example.com\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
    )
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith("GIT_") or "TOKEN" in name or "SECRET" in name:
            del os.environ[name]
    os.environ.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), NO_COLOR="1")
    yield home
    os.environ.clear()
    os.environ.update(saved)


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": PINNED_DATE,
        "GIT_COMMITTER_DATE": PINNED_DATE,
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def issue_file(
    number: int,
    title: str,
    body: str = "",
    depends_on: Sequence[int] = (),
    labels: Sequence[str] = (),
    state: str = "open",
) -> str:
    front = {"number": number, "title": title, "labels": list(labels), "state": state}
    if depends_on:
        front["depends_on"] = list(depends_on)
    # JSON is YAML: a safe way to write any title, quotes and newlines included.
    lines = [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in front.items()]
    return "---\n" + "\n".join(lines) + "\n---\n" + body + "\n"


@dataclass
class Project:
    """A repository with issues, a fast test runner and an agent script, ready for `run`."""

    root: Path
    scratch: Path  # outside the repository: agent scripts and what they record
    config: dict[str, object] = field(default_factory=dict)

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def add_issue(self, number: int, title: str, **kwargs: object) -> None:
        self.write(f".issuewave/issues/{number:03d}.md", issue_file(number, title, **kwargs))  # type: ignore[arg-type]

    def commit(self, message: str = "update") -> None:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", message)

    def agent(self, name: str, source: str) -> str:
        """Write an agent script outside the repo; returns the agent_cmd that runs it."""
        path = self.scratch / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        return f"{sys.executable} {path}"

    def configure(self, **settings: object) -> None:
        self.config.update(settings)
        lines = [f"{key} = {json.dumps(value)}" for key, value in self.config.items()]
        self.write(".issuewave.toml", "\n".join(lines) + "\n")

    def cli(
        self, *args: str, timeout: float = 120, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_cli(self.root, *args, timeout=timeout, env=env)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "issuewave", *args],
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def events(self) -> list[dict[str, object]]:
        """What agents recorded in scratch/events.jsonl (one JSON object per line)."""
        path = self.scratch / "events.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line]


def run_cli(
    cwd: Path, *args: str, timeout: float = 120, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "issuewave", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


# An agent that records when it ran and writes one file named after its issue.
RECORDING_AGENT = """
    import json, os, pathlib, sys, time
    scratch = pathlib.Path(__file__).parent
    issue = os.environ["ISSUEWAVE_ISSUE"]
    def record(kind, **data):
        line = {"issue": int(issue), "kind": kind, "t": time.time(), **data}
        with open(scratch / "events.jsonl", "a") as log:
            log.write(json.dumps(line) + "\\n")
    record("start", files=sorted(p.name for p in pathlib.Path("work").glob("*")))
    time.sleep(float(os.environ.get("AGENT_SLEEP", "0.5")))
    pathlib.Path("work").mkdir(exist_ok=True)
    pathlib.Path("work", f"issue-{issue}.txt").write_text(f"done {issue}\\n")
    record("end")
    print(f"resolved issue {issue}")
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "repo"
    scratch = tmp_path / "scratch"
    root.mkdir()
    scratch.mkdir()
    git(root, "init", "-q", "-b", "main")
    made = Project(root, scratch)
    made.write("run_checks.py", CHECK_RUNNER)
    made.write("checks/test_base.py", "assert 1 + 1 == 2\n")
    made.configure(
        agent="command",
        agent_cmd=made.agent("agent", RECORDING_AGENT),
        test_cmd=f"{sys.executable} run_checks.py",
        jobs=2,
        timeout=60,
        max_attempts=2,
        # The recording agents write their events outside their workspace, which the sandbox
        # forbids: its own tests (test_sandbox, test_hostile, test_confined_run) turn it on.
        sandbox="none",
    )
    made.commit("initial")
    return made


def seed_issues(project: Project) -> None:
    """The seeds' wave: #152 research and #154 design, #155 implementation needing both."""
    project.add_issue(152, "Cross-Platform VM Research", labels=["research"])
    project.add_issue(154, "Platform-Agnostic VM Abstraction Layer", labels=["design"])
    project.add_issue(
        155,
        "Implement macOS VM Backend",
        body="Dependencies: Issues #152 and #154 must be merged first.",
        labels=["implementation"],
    )
    project.commit("seed issues")


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")
