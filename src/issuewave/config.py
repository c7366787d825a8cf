"""Configuration: `.issuewave.toml` or `[tool.issuewave]` in pyproject.toml, then CLI flags on top.

Every key is also a CLI flag, and the CLI wins. An unknown key or a wrong type is an error that
names the key and where it came from.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from issuewave.errors import InputError
from issuewave.forges.registry import FORGES

CONFIG_FILE = ".issuewave.toml"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")
_UNIT_SECONDS = {None: 1, "s": 1, "m": 60, "h": 3600}

Command = Literal["plan", "run", "resume"]
# `plan` takes every key `run` takes: it shows what that run would do, and fails where it would.
PLAN_AND_RUN: frozenset[Command] = frozenset({"plan", "run"})
EVERY_COMMAND: frozenset[Command] = frozenset({"plan", "run", "resume"})


@dataclass(frozen=True)
class Flag:
    """A key's command-line option. Not given (None) leaves the file's value standing."""

    help: str
    # Empty: --key-name, or --key-name/--no-key-name for a bool.
    names: tuple[str, ...] = ()
    commands: frozenset[Command] = PLAN_AND_RUN
    text: bool = False  # typed as text and read by the model's validator (durations)


_AGENTS = "claude, codex, amp, gemini, opencode, cursor, aider, goose, copilot, command or demo."


class Config(BaseModel):
    """Every setting of a run. Defaults are what a first run on a small repository wants.

    Each key's `Flag` is its command-line option; `issuewave.flags` builds the options from them.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    # A name in forges/registry.py; None: the forge whose host the remote is on (GitHub) when
    # there is no issues_dir, else local.
    forge: Annotated[
        str | None,
        Flag(f"{' or '.join(FORGES)} [default: github if the remote is on GitHub]"),
    ] = None
    issues_dir: Annotated[str, Flag("Folder of issue files (local forge).")] = ".issuewave/issues"
    # None: the repository's default branch
    base: Annotated[str | None, Flag("Base branch [default: the default branch].")] = None
    jobs: Annotated[int, Flag("Agents at once.", names=("--jobs", "-j"))] = Field(
        default=2, ge=1, le=256
    )
    agent: Annotated[str, Flag(_AGENTS)] = "command"
    agent_cmd: Annotated[str | None, Flag("argv template for the command agent.")] = None
    # None: detected from the project's files
    test_cmd: Annotated[str | None, Flag("The project's test command.")] = None
    # What a change to existing tests does: strict fails the attempt, review passes it and says
    # which tests changed (PR body, status, report, dashboard), off checks only the exit status.
    tests_policy: Annotated[
        Literal["strict", "review", "off"],
        Flag("strict, review or off: what removed, skipped or changed existing tests do."),
    ] = "review"
    # JUnit XML files the tests write (jest-junit, surefire, gradle), read for the test ids.
    test_reports: Annotated[
        tuple[str, ...], Flag("Glob of JUnit XML files the tests write (repeatable).")
    ] = ()
    # Seconds per attempt; "30m" and "2h" also read, so the flag is text.
    timeout: Annotated[float, Flag("Per attempt: seconds, or 30m, 2h.", text=True)] = Field(
        default=1800.0, gt=0
    )
    max_attempts: Annotated[int, Flag("Attempts per issue, retries included.")] = Field(
        default=2, ge=1, le=20
    )
    worktree_dir: Annotated[str, Flag("Where worktrees go [.worktrees].")] = ".worktrees"
    branch: Annotated[str, Flag("Branch name pattern.")] = "feature/issue-{number}"
    commit: Annotated[str, Flag("Commit message pattern.")] = "feat: {title} (#{number})"
    # Variable names passed to agents and test commands beyond the built-in allowlist.
    pass_env: Annotated[
        tuple[str, ...], Flag("Extra variable passed to agents and tests (repeatable).")
    ] = ()
    # The agent CLI's model flag, where it has one.
    model: Annotated[str | None, Flag("The agent CLI's model.")] = None
    # Appended to the agent's command line.
    agent_args: Annotated[
        tuple[str, ...], Flag("Extra argument for the agent CLI (repeatable).")
    ] = ()
    # The CLI's approve-everything mode instead of its safe default.
    full_auto: Annotated[
        bool, Flag("The agent's approve-everything mode.", names=("--full-auto/--safe",))
    ] = False
    # Where the agent and its tests run (see sandbox.py): "auto" is bubblewrap where it works and
    # a note in the run's header where not; "bwrap" refuses to run without it; "none" never.
    sandbox: Annotated[
        Literal["auto", "bwrap", "none"],
        Flag("auto, bwrap (required) or none: bubblewrap around agents and tests."),
    ] = "auto"
    # False: the attempt's processes get an empty network namespace (no network at all).
    sandbox_network: Annotated[bool, Flag("Network inside the sandbox.")] = True
    # Budgets, per issue and per run; cost counts only where the CLI reports it. `resume` takes
    # them too: they are the only settings a run may change on the way.
    max_cost: Annotated[
        float | None, Flag("USD per issue, where the CLI reports cost.", commands=EVERY_COMMAND)
    ] = Field(default=None, gt=0)
    max_tokens: Annotated[int | None, Flag("Tokens per issue.", commands=EVERY_COMMAND)] = Field(
        default=None, gt=0
    )
    max_run_cost: Annotated[
        float | None, Flag("USD for the whole run.", commands=EVERY_COMMAND)
    ] = Field(default=None, gt=0)
    max_run_tokens: Annotated[
        int | None, Flag("Tokens for the whole run.", commands=EVERY_COMMAND)
    ] = Field(default=None, gt=0)
    # The GitHub forge. `remote`: where verified branches are pushed and the repository read from.
    remote: Annotated[str, Flag("The git remote to push to [origin].")] = "origin"
    # owner/name; None: read from the remote's URL
    repo: Annotated[str | None, Flag("GitHub owner/name [default: from the remote].")] = None
    api_url: Annotated[str | None, Flag("GitHub Enterprise: https://HOST/api/v3.")] = None
    # Select open issues carrying all of these.
    labels: Annotated[
        tuple[str, ...], Flag("Only issues with this label (repeatable).", names=("--label",))
    ] = ()
    # A number, a title, or "*"; digits on the command line are the number, as in its URL.
    milestone: Annotated[int | str | None, Flag("Only issues in this milestone.")] = None
    assignee: Annotated[str | None, Flag("Only issues assigned to this login.")] = None
    draft: Annotated[bool, Flag("Open PRs as drafts.")] = False
    # An issue with one dependency gets a PR based on that dependency's branch.
    stack: Annotated[bool, Flag("Base a PR on its single dependency.")] = False
    # One progress comment per issue, edited in place.
    comment: Annotated[bool, Flag("One progress comment per issue.")] = False
    # Besides the repository's owners, members and collaborators.
    trusted_authors: Annotated[tuple[str, ...], Flag("Logins trusted (repeatable).")] = ()
    # An issue from anyone else needs this label.
    require_label: Annotated[str | None, Flag("Issues from anyone else need this label.")] = None

    @field_validator("max_cost", "max_run_cost", mode="before")
    @classmethod
    def _money(cls, value: object) -> object:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("timeout", mode="before")
    @classmethod
    def _read_duration(cls, value: object) -> object:
        if isinstance(value, str):
            return parse_duration(value)
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator(
        "pass_env", "agent_args", "labels", "trusted_authors", "test_reports", mode="before"
    )
    @classmethod
    def _tuple_of_names(cls, value: object) -> object:
        return tuple(value) if isinstance(value, list) else value

    @field_validator("test_reports")
    @classmethod
    def _inside_the_checkout(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            if not pattern or pattern.startswith("/") or ".." in Path(pattern).parts:
                raise ValueError(f"{pattern!r}: a glob relative to the checkout, without '..'")
        return value

    @field_validator("forge")
    @classmethod
    def _known_forge(cls, value: str | None) -> str | None:
        if value is not None and value not in FORGES:
            raise ValueError(f"unknown forge (known: {', '.join(FORGES)})")
        return value

    @field_validator("branch")
    @classmethod
    def _branch_pattern(cls, value: str) -> str:
        _check_placeholders(value, {"number", "slug"})
        if "{number}" not in value:
            raise ValueError("must contain {number} so that every issue gets its own branch")
        return value

    @field_validator("commit")
    @classmethod
    def _commit_pattern(cls, value: str) -> str:
        _check_placeholders(value, {"number", "title"})
        return value


def parse_duration(text: str) -> float:
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration (write 90, 90s, 30m or 2h)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _check_placeholders(pattern: str, allowed: set[str]) -> None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
    except ValueError as exc:
        raise ValueError(f"{pattern!r}: {exc}") from exc
    unknown = names - allowed
    if unknown:
        known = ", ".join("{" + n + "}" for n in sorted(allowed))
        raise ValueError(f"unknown placeholder {{{sorted(unknown)[0]}}} (known: {known})")


def load_config(root: Path, overrides: Mapping[str, Any] | None = None) -> Config:
    """File settings, then the CLI's (None means 'not given'), validated together."""
    source, settings = _read_file_settings(root)
    cli = {k: v for k, v in (overrides or {}).items() if v is not None}
    _validate(settings, source)
    return _validate({**settings, **cli}, "the command line" if cli else source)


def _validate(settings: Mapping[str, Any], source: str) -> Config:
    try:
        return Config(**settings)
    except ValidationError as exc:
        raise InputError(_describe(exc, source), hint=_hint(source)) from None


def _describe(exc: ValidationError, source: str) -> str:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "?"
    if first["type"] == "extra_forbidden":
        known = ", ".join(Config.model_fields)
        return f"unknown key {key!r} in {source} (known keys: {known})"
    given = first.get("input")
    reason = first["msg"].removeprefix("Value error, ")
    return f"bad value for {key!r} in {source}: {reason[:1].lower()}{reason[1:]} (got {given!r})"


def _hint(source: str) -> str:
    if source == "the command line":
        return "see issuewave --help for each option's type"
    return f"fix {source}; the README's Configuration section lists every key and its type"


def _read_file_settings(root: Path) -> tuple[str, dict[str, Any]]:
    dedicated = root / CONFIG_FILE
    if dedicated.is_file():
        return str(dedicated), _read_toml(dedicated)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        section = _read_toml(pyproject).get("tool", {}).get("issuewave")
        if isinstance(section, dict):
            return f"{pyproject} [tool.issuewave]", section
    return "the defaults", {}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}", hint=f"fix {path}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})", hint=f"fix {path}") from None


def detect_test_cmd(root: Path) -> str | None:
    """The project's usual test command, read from its files; None if nothing says."""
    makefile = root / "Makefile"
    if makefile.is_file() and re.search(r"^test:", makefile.read_text(errors="replace"), re.M):
        return "make test"
    if (root / "pyproject.toml").is_file() or (root / "pytest.ini").is_file():
        return "python3 -m pytest -q"
    for marker, command in _TEST_MARKERS:
        if (root / marker).is_file():
            return command
    return None


_TEST_MARKERS = (
    ("package.json", "npm test"),
    ("Cargo.toml", "cargo test"),
    ("go.mod", "go test ./..."),
)
