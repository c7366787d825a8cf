"""Issues kept as Markdown files with YAML front matter, one file per issue, in one folder.

```
---
number: 3
title: Store notes as JSON
labels: [storage]
depends_on: [2]
acceptance: tests-hidden/3   # optional: hidden acceptance tests (default .issuewave/acceptance/3)
---
The body, in Markdown. "Depends on #N" lines count as dependencies too.
```

Every error names the file, and the line when it is known, so the user can go straight to it.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import ErrorDetails

from issuewave.dependencies import extract_dependencies
from issuewave.errors import InputError
from issuewave.issues import Issue
from issuewave.types import IssueNumber

_DELIMITER = "---"
# libyaml's safe loader when PyYAML was built with it: ten times faster on big backlogs.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# The front matter's first line is line 2 of the file (line 1 is the opening "---").
_FIRST_FRONT_MATTER_LINE = 2
_FORMAT_HINT = "an issue file starts with '---', then number: and title: lines, then '---'"
_KEYS_HINT = (
    "keys: number and title (required), labels, depends_on, state (open or closed), acceptance"
)

_PositiveInt = Annotated[int, Field(gt=0)]
_Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _relative_folder(value: str) -> str:
    """Relative, and never out of the repository: no leading "/", no ".." part."""
    if not value or value.startswith("/") or ".." in PurePosixPath(value).parts:
        raise ValueError("a relative folder without '..' is needed")
    return value


_Folder = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_relative_folder)]

# What each key must hold, in the words an error message uses.
_EXPECTED = {
    "number": "a positive whole number",
    "title": "a non-empty text",
    "labels": "a list of texts, like [bug, parser]",
    "depends_on": "an issue number or a list of issue numbers, like [2, 5]",
    "state": "'open' or 'closed'",
    "acceptance": "a folder relative to the repository root, like .issuewave/acceptance/3",
}


class _FrontMatter(BaseModel):
    # strict: YAML's `yes` must not become an issue number, nor 2024-01-01 a title.
    model_config = ConfigDict(extra="forbid", strict=True)

    number: _PositiveInt
    title: _Title
    labels: list[str] = []
    depends_on: list[_PositiveInt] | _PositiveInt = []
    state: Literal["open", "closed"] = "open"
    acceptance: _Folder | None = None


def read_issues_dir(directory: Path) -> list[Issue]:
    """Every issue file directly in `directory`, in file-name order."""
    if not directory.is_dir():
        raise InputError(
            f"issues folder {directory} does not exist",
            hint=f"create it (mkdir -p {directory}) or set issues_dir in .issuewave.toml",
        )
    issues: list[Issue] = []
    for path in _issue_files(directory):
        lines = _read_text(path).split("\n")
        if path.name.lower() == "readme.md" and not _opens_front_matter(lines):
            continue  # a README that explains the folder is not an issue
        issues.append(_parse(path, lines))
    _check_unique_numbers(issues)
    return issues


def read_issue_file(path: Path) -> Issue:
    return _parse(path, _read_text(path).split("\n"))


def _issue_files(directory: Path) -> list[Path]:
    # Hidden files are editor leftovers (".#3.md" lock links, backups), never issues.
    return sorted(
        (p for p in directory.glob("*.md") if p.is_file() and not p.name.startswith(".")),
        key=lambda p: p.name,
    )


def _opens_front_matter(lines: list[str]) -> bool:
    return bool(lines) and lines[0].rstrip() == _DELIMITER


def _parse(path: Path, lines: list[str]) -> Issue:
    if not _opens_front_matter(lines):
        raise InputError(
            f"{path}:1: no front matter: the first line must be '---'", hint=_FORMAT_HINT
        )
    end = _closing_line(lines)
    if end is None:
        raise InputError(
            f"{path}: the front matter opened on line 1 is never closed by a '---' line",
            hint=_FORMAT_HINT,
        )
    front_matter = _parse_front_matter(path, "\n".join(lines[1:end]))
    return _issue(path, front_matter, _strip_blank_lines(lines[end + 1 :]))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # -sig: a byte-order mark is not content
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


def _closing_line(lines: list[str]) -> int | None:
    return next((i for i, line in enumerate(lines) if i > 0 and line.rstrip() == _DELIMITER), None)


def _strip_blank_lines(lines: list[str]) -> str:
    # Whole blank lines only: the first line's indentation may matter to Markdown.
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    return "\n".join(lines[nonblank[0] : nonblank[-1] + 1]) if nonblank else ""


def _parse_front_matter(path: Path, text: str) -> _FrontMatter:
    data = _load_yaml(path, text)
    if data is None:
        data = {}  # an empty front matter: report the missing keys, which is the real problem
    if not isinstance(data, dict) or not all(isinstance(key, str) for key in data):
        raise InputError(
            f"{path}:{_FIRST_FRONT_MATTER_LINE}: the front matter must be 'key: value' lines"
            f" (got {_yaml_kind(data)})",
            hint=_FORMAT_HINT,
        )
    try:
        return _FrontMatter.model_validate(data)
    except ValidationError as exc:
        raise InputError(_describe(path, text, exc.errors()[0]), hint=_KEYS_HINT) from None


def _load_yaml(path: Path, text: str) -> object:
    try:
        return yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{_file_line(mark)}" if mark else str(path)
        raise InputError(
            f"{where}: malformed YAML front matter: {_yaml_problem(exc)}",
            hint="quote a value that holds ':', '#', '[' or starts with a special character",
        ) from None
    except (yaml.YAMLError, ValueError) as exc:
        # ValueError: a value YAML reads as a date but is none, such as 2024-13-45.
        raise InputError(
            f"{path}: malformed YAML front matter: {exc}", hint="quote the value"
        ) from None


def _file_line(mark: yaml.Mark) -> int:
    return mark.line + _FIRST_FRONT_MATTER_LINE  # YAML counts from 0 within the front matter


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    """YAML's complaint, and where the construct it was reading began when that is elsewhere."""
    problem = exc.problem or exc.context or "unreadable"
    started, found = exc.context_mark, exc.problem_mark
    if exc.context and started and found and started.line != found.line:
        return f"{problem} ({exc.context} that began on line {_file_line(started)})"
    return problem


def _yaml_kind(data: object) -> str:
    if isinstance(data, dict):
        return "a key that is not a name"
    return "a list" if isinstance(data, list) else f"the single value {_shown(data)}"


def _describe(path: Path, text: str, error: ErrorDetails) -> str:
    """One validation error as 'file:line: what is wrong with which key'."""
    key = str(error["loc"][0]) if error["loc"] else "?"
    line = _key_line(text, key)
    where = f"{path}:{line}" if line is not None else str(path)
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key {key!r} (known keys: {', '.join(_FrontMatter.model_fields)})"
    if error["type"] == "missing":
        return f"{where}: missing required key {key!r} ({_EXPECTED[key]})"
    return f"{where}: {key!r} must be {_EXPECTED[key]}, got {_shown(error['input'])}"


def _key_line(text: str, key: str) -> int | None:
    """The file line of top-level `key` in the front matter, if it is written plainly."""
    pattern = re.compile(rf"^{re.escape(key)}[ \t]*:")
    for index, line in enumerate(text.split("\n")):
        if pattern.match(line):
            return index + _FIRST_FRONT_MATTER_LINE
    return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _issue(path: Path, front_matter: _FrontMatter, body: str) -> Issue:
    declared = front_matter.depends_on
    listed = declared if isinstance(declared, list) else [declared]
    depends_on = sorted(set(listed) | set(extract_dependencies(body)))
    return Issue(
        number=IssueNumber(front_matter.number),
        title=front_matter.title,
        body=body,
        labels=tuple(front_matter.labels),
        depends_on=tuple(IssueNumber(n) for n in depends_on),
        state=front_matter.state,
        source=str(path),
        acceptance=front_matter.acceptance,
    )


def _check_unique_numbers(issues: list[Issue]) -> None:
    first_source: dict[IssueNumber, str] = {}
    for issue in issues:
        if issue.number in first_source:
            raise InputError(
                f"issue #{issue.number} is defined twice: in {first_source[issue.number]}"
                f" and in {issue.source}",
                hint="give each issue file its own number",
            )
        first_source[issue.number] = issue.source
