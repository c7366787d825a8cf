"""How the CLI ends: a bug exits 3 with a private, redacted log; expected errors keep 1 and 2."""

from __future__ import annotations

import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import typer

from issuewave.cli import _dispatch
from issuewave.errors import InputError, IssuewaveError

SECRET = "s3cr3t-value-0123"


def crash() -> int:
    raise RuntimeError(f"a bug whose message carries {SECRET}")


def exit_code_of(command: Callable[[], int]) -> int:
    with pytest.raises(typer.Exit) as exited:
        _dispatch(command)
    return exited.value.exit_code


@pytest.fixture
def crash_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Crash logs go to tmp_path; a token is in the environment and on the command line."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("ISSUEWAVE_TEST_TOKEN", SECRET)
    monkeypatch.setattr(sys, "argv", ["issuewave", "run", "--agent-args", SECRET])
    return tmp_path


def test_a_bug_exits_3_and_names_its_log(
    crash_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert exit_code_of(crash) == 3
    [log] = crash_folder.glob("issuewave-crash-*.log")
    assert f"issuewave: internal error; details written to {log}" in capsys.readouterr().err
    text = log.read_text(encoding="utf-8")
    assert "RuntimeError: a bug whose message carries ***" in text
    assert "argv: issuewave run --agent-args ***" in text


def test_the_crash_log_is_private_and_holds_no_token(crash_folder: Path) -> None:
    exit_code_of(crash)
    [log] = crash_folder.glob("issuewave-crash-*.log")
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert SECRET not in log.read_text(encoding="utf-8")


def test_two_crashes_in_one_second_keep_both_logs(crash_folder: Path) -> None:
    exit_code_of(crash)
    exit_code_of(crash)
    assert len(list(crash_folder.glob("issuewave-crash-*.log"))) == 2


def refuse() -> int:
    raise IssuewaveError("no", hint="do this instead")


def bad_input() -> int:
    raise InputError("bad")


def interrupted() -> int:
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("command", "code"), [(refuse, 1), (bad_input, 2), (interrupted, 130), (lambda: 0, 0)]
)
def test_expected_endings_keep_their_codes_and_write_no_log(
    crash_folder: Path, command: Callable[[], int], code: int
) -> None:
    assert exit_code_of(command) == code
    assert not list(crash_folder.glob("issuewave-crash-*.log"))
