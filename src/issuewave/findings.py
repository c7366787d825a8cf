"""What verification found about an attempt's tests, beyond "the test command passed".

Recorded with the attempt in the store (the only source for the PR body, `status`, the report
and the dashboard), as JSON. Which existing tests the agent removed, skipped or broke; which
existing test files and runner configuration it changed, and whether their base versions still
pass against its code; whether the hidden acceptance tests passed. The ids of hidden tests are
for the user: they never go into an agent's feedback (see `testchecks`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from issuewave.testids import UNKNOWN, TestResults

STRICT, REVIEW, OFF = "strict", "review", "off"
IDS_UNKNOWN = "test ids unknown: only the exit status is checked"


@dataclass(frozen=True)
class CheckRun:
    """One of issuewave's own test runs in a scratch checkout at the attempt's head: the base
    versions of the changed test files, or the hidden acceptance tests laid over the checkout."""

    files: tuple[str, ...]  # the files put back to their base version (none named when hidden)
    file_count: int
    passed: bool
    failing: tuple[str, ...]  # ids that failed (beyond those failing on the base)
    status: str  # "exited 1", "timed out"
    log: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckRun:
        return cls(tuple(data["files"]), int(data["file_count"]), bool(data["passed"]),
                   tuple(data["failing"]), str(data["status"]), str(data["log"]))  # fmt: skip


@dataclass(frozen=True)
class Findings:
    policy: str  # tests_policy: strict, review or off
    ids: str  # where the test ids came from ("" : they could not be read)
    removed: tuple[str, ...] = ()  # passed on the base, gone at the head
    skipped: tuple[str, ...] = ()  # passed on the base, skipped at the head
    failing: tuple[str, ...] = ()  # passed on the base, failing at the head
    ids_lost: bool = False  # ids were read on the base and none at the head
    changed_tests: tuple[str, ...] = ()  # existing test files the diff changes or deletes
    changed_config: tuple[str, ...] = ()  # runner configuration it adds, changes or deletes
    base_version: CheckRun | None = None
    hidden: CheckRun | None = None
    still_passing: int = 0  # tests that passed on the base and still pass
    # The head's own results, for the store's record of what passes where; not part of the JSON.
    results: TestResults = field(default=UNKNOWN, compare=False, repr=False)

    @property
    def weakened(self) -> bool:
        """Existing tests no longer shown to pass: what strict refuses."""
        broken = self.base_version is not None and not self.base_version.passed
        return bool(self.removed or self.skipped or self.failing or self.ids_lost or broken)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["results"]
        return data

    def dumps(self) -> str:
        return json.dumps(self.as_json())

    @classmethod
    def loads(cls, text: str | None) -> Findings | None:
        return cls.from_json(json.loads(text)) if text else None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Findings:
        def run(key: str) -> CheckRun | None:
            return CheckRun.from_json(data[key]) if data.get(key) else None

        return cls(str(data["policy"]), str(data["ids"]), tuple(data["removed"]),
                   tuple(data["skipped"]), tuple(data["failing"]), bool(data["ids_lost"]),
                   tuple(data["changed_tests"]), tuple(data["changed_config"]),
                   run("base_version"), run("hidden"), int(data["still_passing"]))  # fmt: skip


def describe(findings: Findings, *, limit: int = 10) -> list[str]:
    """What a reviewer must know, one line each; nothing when nothing needs saying. Plain text,
    not escaped: each view escapes it its own way."""
    lines = _existing_tests(findings, limit) if findings.policy != OFF else []
    if findings.hidden is not None:
        lines.append(_hidden(findings.hidden, limit))
    return lines


def clean_summary(findings: Findings) -> str:
    """What to say when `describe` finds nothing to say."""
    if findings.policy == OFF:
        return "tests_policy off: only the test command's exit status was checked"
    return f"the {findings.still_passing} tests that passed on the base still pass, unchanged"


def _existing_tests(f: Findings, limit: int) -> list[str]:
    lines = [] if f.ids else [IDS_UNKNOWN]
    if f.ids_lost:
        lines.append("no test ids could be read at the head, though they could on the base")
    named = (("gone", f.removed), ("now skipped", f.skipped), ("now failing", f.failing))
    lines += [f"tests that passed on the base, {what}: {names(ids, limit)}"
              for what, ids in named if ids]  # fmt: skip
    if f.changed_tests:
        lines.append(f"existing test files changed: {names(f.changed_tests, limit)}")
    if f.changed_config:
        lines.append(f"test runner configuration changed: {names(f.changed_config, limit)}")
    if f.base_version is not None:
        lines.append(_base_version(f.base_version, limit))
    return lines


def _base_version(run: CheckRun, limit: int) -> str:
    what = "the base versions of the changed test files"
    if run.passed:
        return f"{what} still pass against the new code"
    failing = f": {names(run.failing, limit)}" if run.failing else f" ({run.status})"
    return f"{what} fail against the new code{failing}"


def _hidden(run: CheckRun, limit: int) -> str:
    what = f"hidden acceptance tests ({run.file_count} file{'s' * (run.file_count != 1)})"
    if run.passed:
        return f"{what} passed"
    failing = f": {names(run.failing, limit)}" if run.failing else f" ({run.status})"
    return f"{what} failed{failing}"


def names(items: Sequence[str], limit: int) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
