"""The launcher every confined attempt starts through: `python -I -S confine.py OPTIONS -- ARGV`.

It stands between the orchestrator and the attempt's command, so that nothing the command starts
outlives it: the command is placed in the attempt's cgroup before it runs; the launcher is a child
subreaper, so orphaned descendants (a daemon that called setsid and cleared its environment)
reparent to it instead of to init; and when the command ends, when the launcher is told to stop,
or when the orchestrator dies (PR_SET_PDEATHSIG), it kills the cgroup and every descendant left.
It also drops the capabilities that let a root attempt read another process's memory (the
non-dumpable orchestrator's): see `issuewave.sandbox.MEMORY_CAPABILITIES`.

Standard library only and nothing of issuewave: `-I -S` starts it quickly, without site-packages,
the user's site or PYTHON* variables, so nothing an attempt planted there runs in it. Linux only.
`issuewave.sandbox` imports its cgroup helpers: one implementation on both sides.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType

Folder = str | os.PathLike[str]  # a cgroup's folder (no pathlib: it costs start-up time)

# <linux/prctl.h> and <linux/capability.h>
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
CAP_SYS_MODULE = 16
CAP_SYS_RAWIO = 17
CAP_SYS_PTRACE = 19
CAP_SYS_ADMIN = 21
CAP_PERFMON = 38
CAP_BPF = 39
_CAPABILITY_VERSION_3 = 0x20080522
# Exit status when the launcher itself could not start the command (as `env` and `nohup` do).
CANNOT_START = 125
NOT_FOUND = 127
# Signals that mean "stop": the command gets SIGTERM and `--grace` seconds, then SIGKILL.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_KILL_TIMEOUT_S = 5.0


# --- kernel calls ---------------------------------------------------------------------------
def prctl(option: int, value: int) -> None:
    """prctl(2) with one argument; raises OSError as os functions do."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, ctypes.c_ulong(value), ctypes.c_ulong(0), ctypes.c_ulong(0), 0) != 0:
        _raise_errno()


def _raise_errno() -> None:
    number = ctypes.get_errno()
    raise OSError(number, os.strerror(number))


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def drop_capabilities(numbers: Sequence[int]) -> None:
    """Lose these capabilities for good, here and in everything this process starts.

    An exec by root gets the bounding and inheritable sets as its permitted capabilities, so
    each leaves both, and the effective and permitted sets of this process. Without CAP_SETPCAP
    (an ordinary user) the bounding set cannot change, and there is nothing to lose; a
    capability this kernel does not know (EINVAL) is not there to lose either.
    """
    for number in numbers:
        try:
            prctl(PR_CAPBSET_DROP, number)
        except OSError:  # EPERM, EINVAL
            pass
    libc = ctypes.CDLL(None, use_errno=True)
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()  # capabilities 0-31, then 32-63
    if libc.capget(ctypes.byref(header), data) != 0:
        _raise_errno()
    for number in numbers:
        mask = ~(1 << (number % 32)) & 0xFFFFFFFF
        half = data[number // 32]
        half.effective &= mask
        half.permitted &= mask
        half.inheritable &= mask  # the ambient capability goes with it
    if libc.capset(ctypes.byref(header), data) != 0:
        _raise_errno()


# --- cgroups (v1 pids or v2) ----------------------------------------------------------------
def cgroup_members(folder: Folder) -> list[int]:
    try:
        with open(os.path.join(folder, "cgroup.procs")) as procs:
            return [int(pid) for pid in procs.read().split()]
    except FileNotFoundError:
        return []


def kill_cgroup(folder: Folder, timeout: float = _KILL_TIMEOUT_S) -> bool:
    """SIGKILL every process of the cgroup until there is none; False if some outlasted `timeout`.

    cgroup v2 kills all members at once, those forked meanwhile included (`cgroup.kill`). v1 has
    no such file, but a `pids.max` of 0 makes every fork in the cgroup fail, so killing what
    `cgroup.procs` lists, again and again, ends even a fork bomb.
    """
    for name, value in (("cgroup.kill", "1"), ("pids.max", "0")):
        try:
            with open(os.path.join(folder, name), "w") as control:
                control.write(value)
        except OSError:  # not this version's file, or the cgroup is gone
            pass
    deadline = time.monotonic() + timeout
    while members := cgroup_members(folder):
        if time.monotonic() > deadline:
            return False
        for pid in members:
            _kill(pid, signal.SIGKILL)
        time.sleep(0.005)
    return True


def remove_cgroup(folder: Folder, timeout: float = _KILL_TIMEOUT_S) -> None:
    """rmdir the (emptied) cgroup; it stays busy for a moment after its last process died."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.rmdir(folder)
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)


# --- processes ------------------------------------------------------------------------------
def _kill(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def user_tasks(uid: int) -> int:
    """Processes and threads whose real user is `uid`: what RLIMIT_NPROC counts."""
    total = 0
    for pid in _pids():
        try:
            with open(f"/proc/{pid}/status") as status:
                fields = dict(line.split(":", 1) for line in status.read().splitlines())
            if int(fields["Uid"].split()[0]) == uid:
                total += int(fields["Threads"])
        except (OSError, ValueError, IndexError, KeyError):
            continue
    return total


def limit_processes(extra: int) -> None:
    """RLIMIT_NPROC, where no pids cgroup bounds the attempt.

    The kernel counts every process and thread of the user, not the attempt's, so the limit is
    what the user runs now plus `extra`; and it never applies it to root.
    """
    _, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    wanted = user_tasks(os.getuid()) + extra
    limit = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
    resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _children() -> list[int]:
    """This process's children, orphans that reparented to it included (from /proc/*/stat)."""
    me, found = os.getpid(), []
    for pid in _pids():
        try:
            with open(f"/proc/{pid}/stat") as stat:
                # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
                if int(stat.read().rsplit(")", 1)[1].split()[1]) == me:
                    found.append(pid)
        except (OSError, ValueError, IndexError):
            continue
    return found


def kill_descendants(timeout: float = _KILL_TIMEOUT_S) -> None:
    """SIGKILL the children and reap them, until none is left.

    A killed child's own children reparent to this subreaper, and are found on the next round.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:  # first: the usual case is no child at all, known without reading /proc
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            return
        for pid in _children():
            _kill(pid, signal.SIGKILL)
        time.sleep(0.005)


# --- the launcher ---------------------------------------------------------------------------
class Options:
    """The launcher's options (a plain class: the dataclasses import costs start-up time)."""

    def __init__(self, parent: int, command: list[str], cgroup: str | None = None,
                 nproc: int | None = None, grace: float = 1.0, sandboxed: bool = False,
                 drop_caps: str = "") -> None:  # fmt: skip
        self.parent = parent  # the orchestrator's pid
        self.command = command
        self.cgroup = cgroup  # the attempt's cgroup folder
        self.nproc = nproc  # RLIMIT_NPROC headroom (no pids cgroup)
        self.grace = grace  # seconds from SIGTERM to KILL
        self.sandboxed = sandboxed  # the command is bwrap
        self.drop_caps = drop_caps  # capability numbers, comma-separated


def parse(argv: Sequence[str]) -> Options:
    """OPTIONS -- COMMAND, split by hand: the command has `--` of its own (bwrap's), and
    argparse alone would add a tenth of the launcher's start-up time to every attempt."""
    if "--" not in argv or argv.index("--") == len(argv) - 1 or "--parent" not in argv:
        raise SystemExit("usage: confine.py --parent PID [OPTIONS] -- COMMAND [ARG...]")
    split = list(argv).index("--")
    words, values = list(argv[:split]), {}
    while words:
        word = words.pop(0)
        if word == "--sandboxed":
            values["sandboxed"] = True
        elif word in _VALUED and words:
            values[_VALUED[word][0]] = _VALUED[word][1](words.pop(0))
        else:
            raise SystemExit(f"confine.py: unknown option {word}")
    return Options(command=list(argv[split + 1 :]), **values)  # type: ignore[arg-type]


_VALUED: dict[str, tuple[str, type]] = {
    "--parent": ("parent", int),
    "--cgroup": ("cgroup", str),
    "--nproc": ("nproc", int),
    "--grace": ("grace", float),
    "--drop-caps": ("drop_caps", str),
}


def main(argv: Sequence[str]) -> int:
    options = parse(argv)
    # SIGTERM, not SIGKILL: the launcher must live on for a moment to kill the cgroup and the
    # orphans. The command gets SIGKILL when the launcher dies (see `_become_command`).
    # The "parent" here is the thread that started the launcher, not the orchestrator process:
    # that is fine, as proc.supervise awaits the child on that very thread (the event loop's,
    # or a worker's that runs asyncio.run) and returns only once the child is dead, so the
    # thread outlives it; if the orchestrator dies, every thread of it dies, and this fires.
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != options.parent:
        return CANNOT_START  # the orchestrator died before the death signal was armed
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    drop_capabilities([int(n) for n in options.drop_caps.split(",") if n])
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # until the handlers know the child
    launcher = os.getpid()
    child = os.fork()
    if child == 0:
        _become_command(options, launcher)
    status = _wait_for(child, options)
    _end_everything(options.cgroup)
    return _exit_like(status)


def _become_command(options: Options, launcher: int) -> None:
    """In the forked child: join the cgroup, set the limit, die with the launcher, exec."""
    try:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != launcher:
            os._exit(CANNOT_START)
        if options.cgroup is not None:
            with open(os.path.join(options.cgroup, "cgroup.procs"), "w") as procs:
                procs.write(f"{os.getpid()}\n")
        if options.nproc is not None:
            limit_processes(options.nproc)
        if options.sandboxed:
            os.setpgid(0, 0)  # out of the group proc signals: bwrap dies of SIGTERM at once
        os.execvp(options.command[0], options.command)
    except FileNotFoundError as exc:
        _fail(f"{options.command[0]}: {exc.strerror}", NOT_FOUND)
    except BaseException as exc:
        _fail(f"cannot start {options.command[0]}: {exc}", CANNOT_START)


def _fail(message: str, code: int) -> None:
    print(f"issuewave launcher: {message}", file=sys.stderr, flush=True)
    os._exit(code)


def _wait_for(child: int, options: Options) -> int:
    """The child's wait status; reaps the orphans that die meanwhile. A stop signal gives the
    command SIGTERM and `--grace` seconds, then SIGKILL."""

    running = [True]  # once reaped, its pid may be anyone's: no signal to it then

    def stop(signum: int, frame: FrameType | None) -> None:
        if running[0] and signal.getitimer(signal.ITIMER_REAL)[0] == 0:
            for pid in _terminated_by_stop(child, options):
                _kill(pid, signal.SIGTERM)
            signal.setitimer(signal.ITIMER_REAL, options.grace)

    def overdue(signum: int, frame: FrameType | None) -> None:
        if running[0]:
            _kill(child, signal.SIGKILL)

    for sig in STOP_SIGNALS:
        signal.signal(sig, stop)
    signal.signal(signal.SIGALRM, overdue)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    while True:
        pid, status = os.wait()
        if pid == child:
            running[0] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            return status


def _terminated_by_stop(child: int, options: Options) -> list[int]:
    """Who gets SIGTERM: the command, and every process of its cgroup (those that left its
    process group too). bwrap dies of SIGTERM at once and takes all inside with it, so in the
    sandbox the processes inside get it instead (its init ignores it), where the cgroup shows
    them; without a cgroup bwrap itself does."""
    members = cgroup_members(options.cgroup) if options.cgroup is not None else []
    if options.sandboxed and [pid for pid in members if pid != child]:
        return [pid for pid in members if pid != child]
    return [child, *members]


def _end_everything(cgroup: str | None) -> None:
    """What the command left behind: the cgroup's members, then the orphans; the cgroup goes."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)  # a second stop must not cut the cleaning short
    if cgroup is not None:
        kill_cgroup(cgroup)
    kill_descendants()
    if cgroup is not None:
        remove_cgroup(cgroup)


def _exit_like(status: int) -> int:
    """The command's exit code; a command killed by a signal makes the launcher die of it too,
    so that the orchestrator sees what it would have seen without a launcher."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig != signal.SIGKILL:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
        return 128 + sig
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
