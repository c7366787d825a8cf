"""Which files are tests, and which configure the test runner, by name and place.

A test file: `test_*.py`, `*_test.py`, `conftest.py`, `*_test.go`, `*.test.[jt]s(x)`,
`*.spec.[jt]s(x)`, or any file in a `tests/`, `test/` or `__tests__/` folder, or under `src/test/`
(maven and gradle). Runner configuration: `conftest.py`, `pytest.ini`, `tox.ini`, `noxfile.py`,
`jest.config.*`, `vitest.config.*`, `.mocharc.*`, the Makefile, and the parts of shared files that
configure tests: the pytest section of `pyproject.toml` (`[tool.pytest...]`) and of `setup.cfg`
(`[tool:pytest]`), and `jest` or `scripts.test` in `package.json`. Configuration can switch tests
off without touching a test, so a change to it is reported even when no test file changed.
"""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from issuewave.git import Git

_TEST_NAME = re.compile(
    r"^(test_.*\.py|.*_test\.py|conftest\.py|.*_test\.go|.*\.(?:test|spec)\.[jt]sx?)$"
)
_TEST_FOLDERS = frozenset({"tests", "test", "__tests__"})
# Files that are runner configuration as a whole: put back whole in the base-version run.
_CONFIG_NAME = re.compile(
    r"^(conftest\.py|pytest\.ini|tox\.ini|noxfile\.py|(?:jest|vitest)\.config\.[cm]?[jt]s(?:on)?"
    r"|\.mocharc\.\w+|GNUmakefile|[Mm]akefile)$"
)
ADDED, DELETED = "A", "D"


def is_test_file(path: str) -> bool:
    parts = PurePosixPath(path).parts
    in_folder = any(p in _TEST_FOLDERS for p in parts[:-1])
    return bool(_TEST_NAME.match(parts[-1])) or in_folder  # src/test/** is in a test/ folder


def is_whole_config(path: str) -> bool:
    return bool(_CONFIG_NAME.match(PurePosixPath(path).name))


@dataclass(frozen=True)
class TestChanges:
    """What a diff does to the tests that existed on its base, and to their configuration."""

    changed_tests: tuple[str, ...]  # existing test files modified or deleted
    changed_config: tuple[str, ...]  # runner configuration added, modified or deleted
    restore: tuple[str, ...]  # existing files to put back for the base-version run
    remove: tuple[str, ...]  # added whole-file configuration, absent in the base version

    @property
    def base_version_differs(self) -> bool:
        return bool(self.restore or self.remove)


def changes_to_tests(git: Git, base: str, head: str) -> TestChanges:
    diff = git.name_status(base, head) if base != head else []
    existing = [(s, p) for s, p in diff if s != ADDED]
    tests = [p for _, p in existing if is_test_file(p)]
    config = [p for s, p in diff if _config_changed(git, base, head, s, p)]
    wholes = [p for p in config if is_whole_config(p)]
    restore = sorted({*tests, *(p for s, p in existing if p in wholes)})
    remove = sorted(p for s, p in diff if s == ADDED and p in wholes)
    return TestChanges(tuple(tests), tuple(config), tuple(restore), tuple(remove))


def _config_changed(git: Git, base: str, head: str, status: str, path: str) -> bool:
    if is_whole_config(path):
        return True
    section = _SECTIONS.get(PurePosixPath(path).name)
    if section is None:
        return False
    before = git.file_at(base, path) if status != ADDED else None
    after = git.file_at(head, path) if status != DELETED else None
    return bool(_section(section, before) != _section(section, after))


def _section(read: Callable[[str], Any], text: str | None) -> Any:
    """The test part of a shared file; a file that cannot be read counts as changed."""
    if text is None:
        return None
    try:
        return read(text)
    except (ValueError, AttributeError, configparser.Error):
        return ("unreadable", text)


def _pyproject(text: str) -> Any:
    return tomllib.loads(text).get("tool", {}).get("pytest")


def _setup_cfg(text: str) -> Any:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return dict(parser["tool:pytest"]) if parser.has_section("tool:pytest") else None


def _package_json(text: str) -> Any:
    data = json.loads(text)
    if not isinstance(data, dict):
        return data
    scripts = data.get("scripts")
    return data.get("jest"), scripts.get("test") if isinstance(scripts, dict) else scripts


_SECTIONS: dict[str, Callable[[str], Any]] = {
    "pyproject.toml": _pyproject,
    "setup.cfg": _setup_cfg,
    "package.json": _package_json,
}
