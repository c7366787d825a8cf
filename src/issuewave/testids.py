"""What a test run says about each of its tests, read from the runner's own output.

The ids come from the runner's machine-readable output where it has one: JUnit XML files (pytest's,
which issuewave asks for through PYTEST_ADDOPTS, and those the `test_reports` globs name) and
`go test -json` lines in the output. Then, as far as they go, the plain-text forms runners print:
cargo's libtest (`test name ... ok`), unittest -v (`test_x (mod.Class.test_x) ... ok`), pytest -v
and -rA (`path::test PASSED`, `PASSED path::test`), go test -v (`--- PASS: TestX`).

An id is the runner's own name for a test (pytest's JUnit XML: `classname::name`); an expected
failure counts as skipped. Results are `known` only when the output listed the tests that passed:
a summary that names failures alone (`pytest -q`, `go test`) says nothing of the rest, and then
only the exit status can be checked; nothing pretends otherwise.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
_RANK = {PASSED: 0, SKIPPED: 1, FAILED: 2}  # one id seen twice: the worse outcome stands
MAX_REPORT_BYTES = 64 * 1024 * 1024  # a JUnit file beyond this is not read
JUNIT, GO_JSON, OUTPUT = "JUnit XML", "go test -json", "the test output"


@dataclass(frozen=True)
class TestResults:
    """Each test's outcome in one run; `source` says where the ids came from ("" : nowhere)."""

    passed: frozenset[str] = frozenset()
    failed: frozenset[str] = frozenset()
    skipped: frozenset[str] = frozenset()
    source: str = ""

    @property
    def known(self) -> bool:
        return bool(self.source)

    @property
    def ids(self) -> frozenset[str]:
        return self.passed | self.failed | self.skipped

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            PASSED: sorted(self.passed),
            FAILED: sorted(self.failed),
            SKIPPED: sorted(self.skipped),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TestResults:
        def ids(key: str) -> frozenset[str]:
            return frozenset(str(i) for i in data.get(key, ()))

        return cls(ids(PASSED), ids(FAILED), ids(SKIPPED), str(data.get("source", "")))


UNKNOWN = TestResults()


@dataclass
class _Tally:
    """Outcomes as they are read; `listed`: some line named a test that did not fail."""

    outcomes: dict[str, str] = field(default_factory=dict)
    listed: bool = False

    def add(self, test_id: str, outcome: str, *, listing: bool = True) -> None:
        test_id = test_id.strip()
        if not test_id:
            return
        old = self.outcomes.get(test_id)
        if old is None or _RANK[outcome] > _RANK[old]:
            self.outcomes[test_id] = outcome
        self.listed = self.listed or listing

    def results(self, source: str) -> TestResults:
        sets = {k: frozenset(i for i, o in self.outcomes.items() if o == k) for k in _RANK}
        return TestResults(sets[PASSED], sets[FAILED], sets[SKIPPED], source if self.listed else "")


def read_results(output: str, reports: Iterable[Path] = ()) -> TestResults:
    """One run's results: JUnit files and go's JSON first; pytest's text forms only when no
    JUnit file was written (they name the same tests another way)."""
    tally = _Tally()
    sources = []
    if _read_junit(tally, reports):
        sources.append(JUNIT)
    if _read_go_json(tally, output):
        sources.append(GO_JSON)
    if _read_text(tally, output, pytest=not sources):
        sources.append(OUTPUT)
    return tally.results(" and ".join(sources))


def junit_results(reports: Iterable[Path]) -> TestResults:
    tally = _Tally()
    _read_junit(tally, reports)
    return tally.results(JUNIT)


def go_json_results(output: str) -> TestResults:
    tally = _Tally()
    _read_go_json(tally, output)
    return tally.results(GO_JSON)


def text_results(output: str) -> TestResults:
    tally = _Tally()
    _read_text(tally, output, pytest=True)
    return tally.results(OUTPUT)


# --- JUnit XML: pytest, jest-junit, maven surefire, gradle ----------------------------------------
def _read_junit(tally: _Tally, reports: Iterable[Path]) -> bool:
    read = False
    for path in reports:
        root = _xml_root(path)
        if root is None:
            continue
        read = True
        for case in root.iter("testcase"):
            tally.add(_junit_id(case), _junit_outcome(case))
    return read


def _xml_root(path: Path) -> ET.Element | None:
    """The report's root, or None: missing, too big, or cut short (a run killed while writing).
    Python's expat refuses entity expansion bombs, so a hostile file cannot blow up memory."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_REPORT_BYTES:
            return None
        return ET.parse(path).getroot()
    except (ET.ParseError, OSError, ValueError):
        return None


def _junit_id(case: ET.Element) -> str:
    classname, name = case.get("classname", ""), case.get("name", "")
    return f"{classname}::{name}" if classname else name


def _junit_outcome(case: ET.Element) -> str:
    tags = {child.tag for child in case}
    if tags & {"failure", "error"}:
        return FAILED
    return SKIPPED if "skipped" in tags else PASSED


# --- go test -json --------------------------------------------------------------------------------
_GO_ACTIONS = {"pass": PASSED, "fail": FAILED, "skip": SKIPPED}


def _read_go_json(tally: _Tally, output: str) -> bool:
    read = False
    for line in output.splitlines():
        event = _go_event(line)
        if event is None:
            continue
        read = True
        outcome = _GO_ACTIONS.get(str(event.get("Action")))
        if outcome is not None and event.get("Test"):
            tally.add(f"{event.get('Package', '')}::{event['Test']}", outcome)
    return read


def _go_event(line: str) -> dict[str, Any] | None:
    text = line.strip()
    if not (text.startswith("{") and '"Action"' in text):
        return None
    try:
        event = json.loads(text)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


# --- the plain-text forms -------------------------------------------------------------------------
_CARGO_SECTION = re.compile(r"^\s*(?:Running (?:unittests )?(\S+)|Doc-tests (\S+))")
_CARGO_TEST = re.compile(r"^test (.+?) \.\.\. (ok|FAILED|ignored)\b")
_CARGO_OUTCOMES = {"ok": PASSED, "FAILED": FAILED, "ignored": SKIPPED}
_DOCTEST_LINE = re.compile(r" \(line \d+\)$")  # moves whenever the file above it changes

_UNITTEST = re.compile(
    r"^ *(\w+) \(([\w.]+)\)(?: \([^\n]*\))?(?:\n[^\n]*?)? \.\.\. "
    r"(ok|FAIL|ERROR|skipped\b.*|expected failure|unexpected success)$",
    re.M,
)
_UNITTEST_SUMMARY = re.compile(r"^(?:FAIL|ERROR): (\w+) \(([\w.]+)\)", re.M)
_UNITTEST_OUTCOMES = {"ok": PASSED, "FAIL": FAILED, "ERROR": FAILED,
                      "expected failure": SKIPPED, "unexpected success": FAILED}  # fmt: skip

_PYTEST_WORDS = "PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS"
_PYTEST_VERBOSE = re.compile(rf"^(\S+::.+?) ({_PYTEST_WORDS})(?: .*)?$", re.M)
_PYTEST_SUMMARY = re.compile(rf"^({_PYTEST_WORDS}) (\S.*?)(?: - .*)?$", re.M)
_PYTEST_OUTCOMES = {"PASSED": PASSED, "FAILED": FAILED, "ERROR": FAILED, "SKIPPED": SKIPPED,
                    "XFAIL": SKIPPED, "XPASS": PASSED}  # fmt: skip

_GO_TEXT = re.compile(r"^\s*--- (PASS|FAIL|SKIP): (\S+)", re.M)
_GO_RUN = re.compile(r"^=== RUN ", re.M)
_GO_OUTCOMES = {"PASS": PASSED, "FAIL": FAILED, "SKIP": SKIPPED}


def _read_text(tally: _Tally, output: str, *, pytest: bool) -> bool:
    before = len(tally.outcomes), tally.listed
    _read_cargo(tally, output)
    _read_unittest(tally, output)
    _read_go_text(tally, output)
    if pytest:
        _read_pytest(tally, output)
    return (len(tally.outcomes), tally.listed) != before


def _read_cargo(tally: _Tally, output: str) -> None:
    section = ""
    for line in output.splitlines():
        heading = _CARGO_SECTION.match(line)
        if heading:
            section = heading.group(1) or f"doc-tests {heading.group(2)}"
            continue
        found = _CARGO_TEST.match(line)
        if found:
            name = _DOCTEST_LINE.sub("", found.group(1))
            tally.add(f"{section}::{name}" if section else name, _CARGO_OUTCOMES[found.group(2)])


def _read_unittest(tally: _Tally, output: str) -> None:
    for name, where, said in _UNITTEST.findall(output):
        outcome = SKIPPED if said.startswith("skipped") else _UNITTEST_OUTCOMES[said]
        tally.add(unittest_id(name, where), outcome)
    for name, where in _UNITTEST_SUMMARY.findall(output):
        tally.add(unittest_id(name, where), FAILED, listing=False)


def unittest_id(name: str, where: str) -> str:
    """Python 3.11 prints `test_x (mod.Class.test_x)`, earlier ones `test_x (mod.Class)`."""
    return where if where.endswith(f".{name}") else f"{where}.{name}"


def _read_pytest(tally: _Tally, output: str) -> None:
    for test_id, word in _PYTEST_VERBOSE.findall(output):
        tally.add(test_id, _PYTEST_OUTCOMES[word])
    for word, test_id in _PYTEST_SUMMARY.findall(output):
        if test_id.startswith(("[", "(")):
            continue  # "SKIPPED [1] file.py:12: reason" names a place; "FAILED (errors=1)" none
        outcome = _PYTEST_OUTCOMES[word]
        tally.add(test_id, outcome, listing=outcome != FAILED)


def _read_go_text(tally: _Tally, output: str) -> None:
    verbose = bool(_GO_RUN.search(output))
    for word, name in _GO_TEXT.findall(output):
        outcome = _GO_OUTCOMES[word]
        tally.add(name, outcome, listing=verbose or outcome != FAILED)


# --- what can be said before any test ran ---------------------------------------------------------
_UNSURE = (
    "test ids are read at the baseline run (pytest's JUnit XML, test_reports files, or the "
    "runner's output); where none can be read, only the exit status is checked"
)


def ids_note(command: str, reports: Iterable[str] = ()) -> str:
    """Where a test command's ids will come from, as far as its words tell (for `plan`)."""
    words = set(command.split())
    if reports:
        return "test ids from the test_reports files"
    if any(w.endswith("pytest") or w == "py.test" for w in words):
        return "test ids from pytest's JUnit XML"
    if {"cargo", "test"} <= words:
        return "test ids from cargo's test output"
    if {"go", "test"} <= words:
        verbose = words & {"-json", "-v"}
        return "test ids from go test's output" if verbose else _ids_unknown("go test", "-json")
    if "unittest" in words:
        return (
            "test ids from unittest's output" if "-v" in words else _ids_unknown("unittest", "-v")
        )
    return _UNSURE


def _ids_unknown(runner: str, flag: str) -> str:
    return (
        f"test ids unknown: only the exit status is checked ({runner} names its tests with {flag})"
    )
