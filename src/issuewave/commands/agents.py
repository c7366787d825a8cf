"""`issuewave agents` (also `doctor`): which agent CLIs are here, and what issuewave would run.

Credentials are reported as present or missing by variable or file name; a value is never printed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.table import Table

from issuewave import proc
from issuewave.agents.base import Agent, AgentSettings, AttemptContext
from issuewave.agents.registry import AGENTS
from issuewave.config import Config, load_config
from issuewave.errors import IssuewaveError
from issuewave.git import open_repository
from issuewave.issues import Issue
from issuewave.types import BranchName, CommitSha, IssueNumber
from issuewave.ui import out


@dataclass(frozen=True)
class AgentCheck:
    name: str
    program: str
    path: str | None
    version: str | None
    credentials_present: list[str]
    credentials_missing: list[str]
    command_line: str


def agents(*, cwd: Path, as_json: bool = False) -> int:
    config = _config(cwd)
    with tempfile.TemporaryDirectory(prefix="issuewave-doctor-") as scratch:
        ctx = _sample_context(Path(scratch), config)
        checks = [_check(name, config, ctx) for name in AGENTS]
    if as_json:
        print(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        out.print(_table(checks))
    return 0


def _config(cwd: Path) -> Config:
    """The repository's settings when run inside one (model, flags), else the defaults."""
    try:
        return load_config(open_repository(cwd).cwd)
    except IssuewaveError:
        return Config()


def _check(name: str, config: Config, ctx: AttemptContext) -> AgentCheck:
    try:
        agent = AGENTS[name](config)
    except IssuewaveError as exc:  # `command` without agent_cmd
        return AgentCheck(name, "—", None, None, [], [], f"(not configured: {exc.message})")
    path = shutil.which(agent.program())
    present, missing = _credentials(agent)
    line = proc.quote(agent.invocation(ctx).argv)
    return AgentCheck(name, agent.program(), path, _version(path), present, missing, line)


def _credentials(agent: Agent) -> tuple[list[str], list[str]]:
    files = [Path(f).expanduser() for f in agent.credential_files]
    present = [v for v in agent.credentials if os.environ.get(v)]
    present += [str(f) for f in files if f.exists()]
    missing = [v for v in agent.credentials if not os.environ.get(v)]
    missing += [str(f) for f in files if not f.exists()]
    return present, missing


def _version(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        done = proc.run([path, "--version"], cwd=Path.cwd(), check=False, timeout=15)
    except IssuewaveError:
        return None
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0][:80] if lines else None


def _sample_context(scratch: Path, config: Config) -> AttemptContext:
    prompt = scratch / "prompt.md"
    prompt.write_text("<the issue's prompt>\n")
    return AttemptContext(
        issue=Issue(IssueNumber(1), "example"),
        attempt=1,
        worktree=Path("<worktree>"),
        branch=BranchName("feature/issue-1"),
        base=CommitSha("0" * 40),
        prompt_file=prompt,
        feedback_file=None,
        tag="doctor-1-1",
        settings=AgentSettings(config.model, config.agent_args, config.full_auto),
    )


def _table(checks: list[AgentCheck]) -> Table:
    table = Table(title="agent CLIs")
    for column in ("Agent", "Installed", "Version", "Credentials", "Command line"):
        table.add_column(column, overflow="fold")
    for c in checks:
        creds = (
            ", ".join(
                [f"[green]{p}[/]" for p in c.credentials_present]
                + [f"[dim]{m} (missing)[/]" for m in c.credentials_missing]
            )
            or "—"
        )
        installed = c.path or f"[red]no[/] ({c.program})"
        table.add_row(c.name, installed, c.version or "—", creds, c.command_line)
    return table
