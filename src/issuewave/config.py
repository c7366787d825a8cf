"""Configuration: `.issuewave.toml` or `[tool.issuewave]` in pyproject.toml, then CLI flags on top.

Every key is also a CLI flag, and the CLI wins. An unknown key or a wrong type is an error that
names the key and where it came from.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from issuewave.errors import InputError

CONFIG_FILE = ".issuewave.toml"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")
_UNIT_SECONDS = {None: 1, "s": 1, "m": 60, "h": 3600}


class Config(BaseModel):
    """Every setting of a run. Defaults are what a first run on a small repository wants."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    # None: github when `remote` points at GitHub and there is no issues_dir, else local.
    forge: Literal["local", "github"] | None = None
    issues_dir: str = ".issuewave/issues"
    base: str | None = None  # None: the repository's default branch
    jobs: int = Field(default=2, ge=1, le=256)
    agent: str = "command"
    agent_cmd: str | None = None
    test_cmd: str | None = None  # None: detected from the project's files
    timeout: float = Field(default=1800.0, gt=0)  # seconds per attempt; "30m" and "2h" also read
    max_attempts: int = Field(default=2, ge=1, le=20)
    worktree_dir: str = ".worktrees"
    branch: str = "feature/issue-{number}"
    commit: str = "feat: {title} (#{number})"
    # Variable names passed to agents and test commands beyond the built-in allowlist.
    pass_env: tuple[str, ...] = ()
    model: str | None = None  # the agent CLI's model flag, where it has one
    agent_args: tuple[str, ...] = ()  # appended to the agent's command line
    full_auto: bool = False  # the CLI's approve-everything mode instead of its safe default
    # Budgets, per issue and per run; cost counts only where the CLI reports it.
    max_cost: float | None = Field(default=None, gt=0)
    max_tokens: int | None = Field(default=None, gt=0)
    max_run_cost: float | None = Field(default=None, gt=0)
    max_run_tokens: int | None = Field(default=None, gt=0)
    # The GitHub forge.
    remote: str = "origin"  # where verified branches are pushed and the repository is read from
    repo: str | None = None  # owner/name; None: read from the remote's URL
    api_url: str | None = None  # GitHub Enterprise: https://HOST/api/v3
    labels: tuple[str, ...] = ()  # select open issues carrying all of these
    milestone: int | str | None = None  # a number, a title, or "*"
    assignee: str | None = None
    draft: bool = False  # open pull requests as drafts
    stack: bool = False  # an issue with one dependency gets a PR based on that dependency's branch
    comment: bool = False  # one progress comment per issue, edited in place
    trusted_authors: tuple[str, ...] = ()  # besides the repository's owners, members, collaborators
    require_label: str | None = None  # an issue from anyone else needs this label

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

    @field_validator("pass_env", "agent_args", "labels", "trusted_authors", mode="before")
    @classmethod
    def _tuple_of_names(cls, value: object) -> object:
        return tuple(value) if isinstance(value, list) else value

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
