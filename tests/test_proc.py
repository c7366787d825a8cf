"""The one place that runs programs, exercised with real processes: errors, env, kill semantics."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import process_alive
from issuewave import proc
from issuewave.errors import IssuewaveError
from issuewave.proc import CommandError, Outcome, clean_env, redact, supervise


def py(source: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(source)]


def wait_for_file(path: Path, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().endswith("\n"):
            return path.read_text()
        time.sleep(0.01)
    raise AssertionError(f"{path} was never written")


def wait_dead(pid: int, timeout: float = 5) -> bool:
    """True once `pid` is gone (or a zombie); a reaped orphan can take a moment to disappear."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process_alive(pid):
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def spawned() -> Iterator[list[int]]:
    """Pids a test started indirectly; anything still alive at the end is killed."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if process_alive(pid):
            os.kill(pid, 9)


# --- run ------------------------------------------------------------------------------------
def test_run_returns_code_and_both_outputs(tmp_path: Path) -> None:
    done = proc.run(
        py("import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"),
        cwd=tmp_path,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")


def test_run_runs_in_cwd_and_passes_stdin(tmp_path: Path) -> None:
    done = proc.run(
        py("import os, sys; print(os.getcwd()); print(sys.stdin.read().upper())"),
        cwd=tmp_path,
        stdin="hello",
    )
    assert done.stdout.splitlines() == [str(tmp_path), "HELLO"]


def test_run_failure_names_command_exit_code_and_output_tail(tmp_path: Path) -> None:
    source = "import sys\nfor i in range(40): print(f'line {i}')\nsys.exit(7)"
    argv = [*py(source), "arg with space"]
    with pytest.raises(CommandError) as caught:
        proc.run(argv, cwd=tmp_path)
    error = caught.value
    assert error.returncode == 7
    assert "exit 7" in error.message
    assert "'arg with space'" in error.message  # the command, shell-quoted
    assert "line 39" in error.message
    assert "line 0\n" not in error.message  # only the tail
    assert "line 39" in error.output


def test_run_failure_output_is_redacted(tmp_path: Path) -> None:
    os.environ["FORGE_TOKEN"] = "tok-1234567890"
    with pytest.raises(CommandError) as caught:
        # The child builds the value, so only its output (not the command) holds the secret.
        proc.run(py("print('using tok-' + '1234567890'); raise SystemExit(1)"), cwd=tmp_path)
    assert "tok-1234567890" not in str(caught.value)
    assert "using ***" in str(caught.value)


def test_run_failure_does_not_leak_a_token_in_the_command(tmp_path: Path) -> None:
    os.environ["FORGE_TOKEN"] = "tok-1234567890"
    with pytest.raises(CommandError) as caught:
        proc.run(
            [sys.executable, "-c", "raise SystemExit(1)", "https://x:tok-1234567890@host"],
            cwd=tmp_path,
        )
    assert "tok-1234567890" not in str(caught.value)


def test_run_missing_program_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IssuewaveError) as caught:
        proc.run(["issuewave-no-such-program-xyz", "--help"], cwd=tmp_path)
    assert not isinstance(caught.value, CommandError)
    assert "program not found: issuewave-no-such-program-xyz" in caught.value.message
    assert caught.value.hint is not None


def test_run_uses_a_clean_environment_by_default(tmp_path: Path) -> None:
    os.environ["GIT_DIR"] = "/elsewhere"
    done = proc.run(
        py("import os; print(os.environ.get('GIT_DIR'), os.environ['GIT_TERMINAL_PROMPT'])"),
        cwd=tmp_path,
    )
    assert done.stdout.split() == ["None", "0"]


# --- environment ----------------------------------------------------------------------------
def test_clean_env_strips_every_git_variable_and_disables_prompts() -> None:
    base = {
        "PATH": "/usr/bin",
        "GIT_DIR": "/x/.git",
        "GIT_WORK_TREE": "/x",
        "GIT_INDEX_FILE": "/x/index",
        "GIT_TERMINAL_PROMPT": "1",
        "GIT_CONFIG_PARAMETERS": "'core.hooksPath'='/evil'",
        "MY_GIT_THING": "kept",
    }
    env = clean_env(base, {"ISSUEWAVE_ISSUE": "3"})
    assert env == {
        "PATH": "/usr/bin",
        "MY_GIT_THING": "kept",
        "GIT_TERMINAL_PROMPT": "0",
        "ISSUEWAVE_ISSUE": "3",
    }
    assert base["GIT_DIR"] == "/x/.git"  # the input is not modified


def test_clean_env_defaults_to_the_process_environment() -> None:
    os.environ["GIT_AUTHOR_NAME"] = "leak"
    os.environ["SOME_VAR"] = "x"
    env = clean_env()
    assert "GIT_AUTHOR_NAME" not in env
    assert env["SOME_VAR"] == "x"
    assert env["GIT_TERMINAL_PROMPT"] == "0"


def test_redact_masks_values_of_secret_like_variables() -> None:
    os.environ.update(
        GITHUB_TOKEN="ghp_abcdefghijkl",
        CLIENT_SECRET="s3cr3t-value",
        OPENAI_API_KEY="sk-0123456789",
        PLAIN_SETTING="not-a-secret-value",
    )
    text = "token ghp_abcdefghijkl secret s3cr3t-value key sk-0123456789 plain not-a-secret-value"
    assert redact(text) == "token *** secret *** key *** plain not-a-secret-value"


def test_redact_with_explicit_secrets() -> None:
    assert redact("a hunter22 b hunter22", ["hunter22"]) == "a *** b ***"


# --- supervise ------------------------------------------------------------------------------
def supervised(tmp_path: Path, argv: list[str], timeout: float | None, tag: str = "t1") -> Outcome:
    return asyncio.run(
        supervise(
            argv,
            cwd=tmp_path,
            env=clean_env(),
            timeout=timeout,
            stdout_path=tmp_path / "logs" / "out.log",
            stderr_path=tmp_path / "logs" / "err.log",
            tag=tag,
        )
    )


def test_supervise_writes_output_to_the_log_files(tmp_path: Path) -> None:
    outcome = supervised(
        tmp_path,
        py("import sys; print('to out'); print('to err', file=sys.stderr); sys.exit(4)"),
        timeout=10,
    )
    assert (outcome.returncode, outcome.timed_out) == (4, False)
    assert (tmp_path / "logs" / "out.log").read_text() == "to out\n"
    assert (tmp_path / "logs" / "err.log").read_text() == "to err\n"


def test_supervise_without_stderr_path_merges_into_stdout(tmp_path: Path) -> None:
    asyncio.run(
        supervise(
            py("import sys; print('a', flush=True); print('b', file=sys.stderr)"),
            cwd=tmp_path,
            env=clean_env(),
            timeout=10,
            stdout_path=tmp_path / "all.log",
            tag="t-merge",
        )
    )
    assert (tmp_path / "all.log").read_text() == "a\nb\n"


def test_supervised_child_reading_stdin_gets_eof_at_once(tmp_path: Path) -> None:
    outcome = supervised(
        tmp_path, py("import sys; data = sys.stdin.read(); print(repr(data))"), timeout=20
    )
    assert outcome.returncode == 0
    assert not outcome.timed_out
    assert outcome.duration_s < 5
    assert (tmp_path / "logs" / "out.log").read_text() == "''\n"


def test_supervised_child_sees_its_tag(tmp_path: Path) -> None:
    supervised(tmp_path, py(f"import os; print(os.environ['{proc.TAG_VARIABLE}'])"), 10, "xyz")
    assert (tmp_path / "logs" / "out.log").read_text() == "xyz\n"


GRANDCHILD = """
    import os, subprocess, sys, time
    from pathlib import Path
    # In the group it drops the tag, so only the group kill can reach it; out of it, the tag
    # sweep is the only way. Each test thus proves one mechanism.
    env = None if {escape} else {{k: v for k, v in os.environ.items() if k != "{tag}"}}
    child = subprocess.Popen(["sleep", "60"], start_new_session={escape}, env=env)
    Path(sys.argv[1]).write_text(f"{{child.pid}} {{os.getpgid(child.pid)}} {{os.getpgid(0)}}\\n")
    {then}
"""


def grandchild_script(pid_file: Path, *, escape: bool, then: str) -> list[str]:
    return [*py(GRANDCHILD.format(escape=escape, then=then, tag=proc.TAG_VARIABLE)), str(pid_file)]


def read_grandchild(pid_file: Path, spawned: list[int]) -> tuple[int, bool]:
    """The grandchild's pid, and whether it left the supervised child's process group."""
    pid, group, parent_group = (int(x) for x in wait_for_file(pid_file).split())
    spawned.append(pid)
    return pid, group != parent_group


def test_timeout_kills_the_whole_process_group(tmp_path: Path, spawned: list[int]) -> None:
    pid_file = tmp_path / "grandchild.pid"
    started = time.monotonic()
    outcome = supervised(
        tmp_path, grandchild_script(pid_file, escape=False, then="time.sleep(60)"), timeout=0.5
    )
    grandchild, escaped = read_grandchild(pid_file, spawned)
    assert not escaped
    assert outcome.timed_out
    assert outcome.returncode is None
    assert time.monotonic() - started < 10
    assert wait_dead(outcome.pid)
    assert wait_dead(grandchild)


def test_timeout_kills_a_grandchild_that_escaped_with_setsid(
    tmp_path: Path, spawned: list[int]
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    outcome = supervised(
        tmp_path, grandchild_script(pid_file, escape=True, then="time.sleep(60)"), timeout=0.5
    )
    grandchild, escaped = read_grandchild(pid_file, spawned)
    assert escaped  # killing the group alone would miss it: only the tag sweep finds it
    assert outcome.timed_out
    assert wait_dead(grandchild)
    assert proc.tagged_alive("t1") == []


@pytest.mark.parametrize("escape", [False, True], ids=["same-group", "setsid"])
def test_background_process_left_by_a_successful_child_is_killed(
    tmp_path: Path, spawned: list[int], escape: bool
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    outcome = supervised(tmp_path, grandchild_script(pid_file, escape=escape, then="pass"), 20)
    grandchild, escaped = read_grandchild(pid_file, spawned)
    assert escaped == escape
    assert (outcome.returncode, outcome.timed_out) == (0, False)
    assert outcome.duration_s < 10  # it did not wait for the leftover's 60 s
    assert wait_dead(grandchild)


def test_cancelling_the_awaiting_task_kills_the_group(tmp_path: Path, spawned: list[int]) -> None:
    pid_file = tmp_path / "grandchild.pid"

    async def scenario() -> int:
        task = asyncio.create_task(
            supervise(
                grandchild_script(pid_file, escape=False, then="time.sleep(60)"),
                cwd=tmp_path,
                env=clean_env(),
                timeout=None,
                stdout_path=tmp_path / "out.log",
                tag="t-cancel",
            )
        )
        while not (pid_file.exists() and pid_file.read_text().endswith("\n")):
            await asyncio.sleep(0.02)
        grandchild, _ = read_grandchild(pid_file, spawned)
        assert process_alive(grandchild)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return grandchild

    started = time.monotonic()
    grandchild = asyncio.run(scenario())
    assert time.monotonic() - started < 10
    assert wait_dead(grandchild)
    assert proc.tagged_alive("t-cancel") == []


def test_kill_tagged_finds_only_its_own_tag(tmp_path: Path, spawned: list[int]) -> None:
    mine = subprocess.Popen(["sleep", "60"], env={**clean_env(), proc.TAG_VARIABLE: "mine"})
    other = subprocess.Popen(["sleep", "60"], env={**clean_env(), proc.TAG_VARIABLE: "mine2"})
    spawned.extend([mine.pid, other.pid])
    try:
        assert proc.tagged_alive("mine") == [mine.pid]
        assert proc.kill_tagged("mine") == [mine.pid]
        mine.wait(timeout=5)
        assert process_alive(other.pid)
    finally:
        other.kill()
        other.wait()
