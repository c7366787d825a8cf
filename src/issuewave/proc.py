"""The one place that runs other programs.

Short commands (git) go through `run`; long-running children (agents, test suites) go through
`supervise`, which gives them their own process group, a timeout, output to log files, stdin closed,
and kills the whole group — plus any process that carries the attempt's tag in its environment,
so even a child that called setsid() does not outlive its attempt. Given a `Confinement`, the
child runs under `issuewave.confine`'s launcher (and bubblewrap, if the sandbox is on), in a cgroup
or PID namespace of its own: then not even a child that also cleared its environment escapes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from issuewave.errors import IssuewaveError

if TYPE_CHECKING:
    # Only its type: sandbox runs its probe through this module, and the confinement brings its
    # own `enclose`, so there is no import cycle.
    from issuewave.sandbox import Confinement

log = logging.getLogger("issuewave.proc")

# The variable every supervised child inherits; sweeping /proc for it finds escaped descendants.
TAG_VARIABLE = "ISSUEWAVE_PROC_TAG"
KILL_GRACE_S = 2.0
_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|_KEY$|CREDENTIAL", re.IGNORECASE)


class CommandError(IssuewaveError):
    """A command that had to succeed did not: names the command, exit code and output tail."""

    def __init__(self, argv: Sequence[str], returncode: int, output: str) -> None:
        tail = "\n".join(output.strip().splitlines()[-15:])
        super().__init__(
            f"command failed (exit {returncode}): {redact(quote(argv))}\n{redact(tail)}"
        )
        self.returncode = returncode
        self.output = output


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Outcome:
    """How a supervised child ended."""

    returncode: int | None  # None when it was killed for its timeout
    timed_out: bool
    duration_s: float
    pid: int


def quote(argv: Sequence[str]) -> str:
    return shlex.join(argv)


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of variables whose names say they are secrets; long enough to be worth masking."""
    source = os.environ if environ is None else environ
    return [v for k, v in source.items() if _SECRET_NAME.search(k) and len(v) >= 8]


# Secrets that live in no environment variable (a token read from `gh auth token`).
_EXTRA_SECRETS: set[str] = set()


def add_secret(value: str) -> None:
    if len(value) >= 8:
        _EXTRA_SECRETS.add(value)


def redact(text: str, secrets: Sequence[str] | None = None) -> str:
    for value in [*secret_values(), *_EXTRA_SECRETS] if secrets is None else secrets:
        text = text.replace(value, "***")
    return text


def clean_env(
    base: Mapping[str, str] | None = None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The parent's environment without inherited GIT_* (they would redirect git elsewhere)."""
    env = {k: v for k, v in (os.environ if base is None else base).items()}
    env = {k: v for k, v in env.items() if not k.startswith("GIT_")}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.update(extra or {})
    return env


def run(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    stdin: str | None = None,
    timeout: float | None = 300,
) -> Completed:
    """Run a short command to completion and capture its output; argv only, never a shell."""
    log.debug("$ %s  (in %s)", redact(quote(argv)), cwd)
    if not cwd.is_dir():
        raise IssuewaveError(f"cannot run {argv[0]}: the folder {cwd} does not exist")
    try:
        result = subprocess.run(  # noqa: S603 - argv list, no shell
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else clean_env(),
            input=stdin,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise IssuewaveError(
            f"program not found: {argv[0]}", hint="install it or fix PATH"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise CommandError(argv, -1, f"timed out after {timeout} s") from exc
    done = Completed(tuple(argv), result.returncode, result.stdout, result.stderr)
    if check and done.returncode != 0:
        raise CommandError(argv, done.returncode, done.stdout + done.stderr)
    return done


async def supervise(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float | None,
    stdout_path: Path,
    stderr_path: Path | None = None,
    tag: str,
    stdin_path: Path | None = None,
    confinement: Confinement | None = None,
) -> Outcome:
    """Run a long child in its own process group; on timeout or cancellation kill all it started.

    With a `confinement`, what runs is its launcher's command line, and its cgroup is killed and
    removed once the child is gone.
    """
    log.info("$ %s  (in %s)", redact(quote(argv)), cwd)
    stdout_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with (
        _enclosure(argv, cwd, tag, confinement) as command,
        _open_streams(stdout_path, stderr_path, stdin_path) as (out, err, inp),
    ):
        child = await asyncio.create_subprocess_exec(
            *command,
            cwd=cwd,
            env={**env, TAG_VARIABLE: tag},
            stdin=inp,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        try:
            returncode: int | None = await asyncio.wait_for(child.wait(), timeout)
            timed_out = False
        except TimeoutError:
            returncode, timed_out = None, True
        finally:
            await _kill_everything(child, tag)
    return Outcome(returncode, timed_out, time.monotonic() - started, child.pid)


def _enclosure(
    argv: Sequence[str], cwd: Path, tag: str, confinement: Confinement | None
) -> contextlib.AbstractContextManager[list[str]]:
    if confinement is None:
        return contextlib.nullcontext(list(argv))
    return confinement.enclose(argv, cwd=cwd, tag=tag)


@contextlib.contextmanager
def _open_streams(
    stdout_path: Path, stderr_path: Path | None, stdin_path: Path | None
) -> Iterator[tuple[int, int, int]]:
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(stdout_path.open("ab"))
        err = stack.enter_context(stderr_path.open("ab")) if stderr_path else None
        inp = stack.enter_context(stdin_path.open("rb")) if stdin_path else None
        yield (
            out.fileno(),
            err.fileno() if err else subprocess.STDOUT,
            inp.fileno() if inp else subprocess.DEVNULL,
        )


async def _kill_everything(child: asyncio.subprocess.Process, tag: str) -> None:
    """Terminate the group, give it a grace period, then SIGKILL the group and tagged strays."""
    if child.returncode is None:
        _signal_group(child.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(child.wait()), KILL_GRACE_S)
    _signal_group(child.pid, signal.SIGKILL)
    kill_tagged(tag)
    if child.returncode is None:
        await child.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def kill_tagged(tag: str) -> list[int]:
    """SIGKILL every process of ours whose environment carries `tag` (Linux /proc; else none)."""
    needle = f"{TAG_VARIABLE}={tag}".encode()
    killed = []
    for pid in _pids_with_environ(needle):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    return killed


def tagged_alive(tag: str) -> list[int]:
    return list(_pids_with_environ(f"{TAG_VARIABLE}={tag}".encode()))


def _pids_with_environ(needle: bytes) -> list[int]:
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def head(path: Path, max_bytes: int) -> str:
    """The start of a file, at most max_bytes, decoded leniently."""
    if not path.exists():
        return ""
    with path.open("rb") as handle:
        return handle.read(max_bytes).decode("utf-8", errors="replace")


def tail(path: Path, lines: int = 60, max_bytes: int = 64_000) -> str:
    """The end of a log file, read without loading a huge file whole."""
    if not path.exists():
        return ""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - max_bytes))
        text = handle.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])
