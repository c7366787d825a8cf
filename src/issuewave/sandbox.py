"""Confinement of an attempt's processes: what they can see and change, and that none outlives it.

An agent is untrusted code. What holds it rests on the kernel, not on its manners:
- with the sandbox (bubblewrap, Linux): the filesystem is read-only but for the workspace and the
  agent CLI's state; /tmp is private; other tools' credentials and issuewave's state are hidden;
  the attempt has its own PID namespace (the orchestrator is not even visible), which dies with
  its first process; optionally no network;
- with or without it, every process of the attempt runs under `confine.py`, a launcher that puts
  the command in a cgroup of the attempt's own where one can be made (pids.max bounds a fork
  bomb, killing the cgroup ends every member; elsewhere RLIMIT_NPROC bounds it), is the child
  subreaper of its orphans and kills them, and dies with the orchestrator;
- `harden_orchestrator` makes the orchestrator non-dumpable, so no other process of its user
  reads its environment or memory; a root attempt outside the sandbox loses the capabilities
  that would override that (MEMORY_CAPABILITIES).

`proc.supervise(confinement=...)` runs a child this way; `confinement.enclose` is its entry point,
a method so that proc needs no import of this module (which runs its probe through proc).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from issuewave import confine, proc
from issuewave.errors import IssuewaveError, PrecheckError

SandboxMode = Literal["auto", "bwrap", "none"]
# Which cgroup an attempt gets; "auto" takes the first that works of: v2 with pids.max, v1 pids,
# v2 without it (kill only). The others exist so that each mechanism can be tested on one machine.
CgroupChoice = Literal["auto", "v2", "v1", "none"]
DEFAULT_MAX_PROCESSES = 1024  # processes and threads: both count, for pids.max and RLIMIT_NPROC
INSTALL_HINT = "apt-get install bubblewrap"
# The probe is the sandbox's core: a read-only root, /dev, /proc and a PID namespace.
PROBE_ARGS = (
    *("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"),
    *("--unshare-pid", "--die-with-parent", "true"),
)
# Other tools' logins under the home folder: an attempt has no business reading them. An agent
# whose own state is one of them (or holds one) keeps it: see `attempt_confinement`.
CREDENTIAL_PATHS = (
    ".config/gh",
    ".config/hub",
    ".config/glab-cli",
    ".git-credentials",
    ".netrc",
    ".ssh",
    ".gnupg",
    ".password-store",
    ".aws",
    ".azure",
    ".config/gcloud",
    ".kube",
    ".docker/config.json",
    ".pypirc",
    ".cargo/credentials",
    ".cargo/credentials.toml",
    ".local/share/keyrings",
)
# What a root attempt outside the sandbox loses: each reaches into other processes' memory or
# /proc files, the non-dumpable orchestrator's included. CAP_SYS_PTRACE is the known one, but
# without it CAP_SYS_ADMIN or CAP_PERFMON alone still open its /proc/<pid>/environ (seen on Linux
# 6.18; tests/test_sandbox.py checks the end result); and by what they are for, CAP_BPF reads
# memory through a tracing program, CAP_SYS_MODULE through a module, CAP_SYS_RAWIO through
# /dev/mem. In the sandbox, bwrap drops every capability of the command itself (and, as root,
# needs CAP_SYS_ADMIN to build the sandbox: so the launcher leaves it then).
MEMORY_CAPABILITIES = (
    confine.CAP_SYS_PTRACE,
    confine.CAP_SYS_ADMIN,
    confine.CAP_PERFMON,
    confine.CAP_BPF,
    confine.CAP_SYS_MODULE,
    confine.CAP_SYS_RAWIO,
)
_CGROUP_PREFIX = "issuewave-"
# Picks a line of /proc/self/cgroup by its hierarchy id and controller list.
_Matcher = Callable[[str, str], bool]


@dataclass(frozen=True)
class SandboxStatus:
    """What `sandbox = ...` resolved to on this machine, worded for the run's header."""

    on: bool
    shown: str  # "bwrap 0.8.0", "off: bwrap is not installed (...)", "off (sandbox = none)"
    processes: str  # how an attempt's processes are bounded and killed, sandbox or not


@dataclass(frozen=True)
class Confinement:
    """One attempt's processes: where they may write, what they may not see, how many they are.

    Paths are absolute. `writable` starts with the workspace; `readable` are paths that must stay
    visible, read-only, even inside the private /tmp (the repository's objects a workspace
    borrows, the prompt's folder, an agent program under /tmp); `hidden` folders become an empty
    tmpfs and hidden files /dev/null. Of nested paths the deeper one shows: a workspace inside a
    hidden state folder stays visible. Without `sandbox` only the process guarantees apply.
    """

    sandbox: bool
    writable: tuple[Path, ...]
    readable: tuple[Path, ...] = ()
    hidden: tuple[Path, ...] = ()
    network: bool = True
    max_processes: int = DEFAULT_MAX_PROCESSES
    cgroup: CgroupChoice = "auto"

    def enclose(
        self, argv: Sequence[str], *, cwd: Path, tag: str
    ) -> contextlib.AbstractContextManager[list[str]]:
        """The command to exec instead of `argv`, with the attempt's cgroup around its life."""
        return enclosed(self, argv, cwd=cwd, tag=tag)


@dataclass(frozen=True)
class Cgroup:
    """An attempt's cgroup; `limited`: its pids.max holds the attempt's processes."""

    path: Path
    version: Literal[1, 2]
    limited: bool


@dataclass(frozen=True)
class AttemptSandbox:
    """How one run confines its attempts: the agent, and every test command run on their code.
    Built once (`preflight.checked_sandbox`); each process gets its `Confinement` from it."""

    status: SandboxStatus
    network: bool  # for the test commands; the agent always has it (it needs its model's API)
    home: Path
    readable: tuple[Path, ...]  # the repository's objects, which every workspace borrows
    hidden: tuple[Path, ...]  # issuewave's state, hidden acceptance tests, other CLIs' logins

    @property
    def on(self) -> bool:
        return self.status.on

    def hiding(self, paths: Sequence[Path]) -> AttemptSandbox:
        return dataclasses.replace(self, hidden=tuple(dict.fromkeys((*self.hidden, *paths))))

    def for_agent(self, workspace: Path, state: Sequence[str], log_dir: Path,
                  argv: Sequence[str]) -> Confinement:  # fmt: skip
        """The agent: its workspace, its CLI's state and its own log folder (where some CLIs
        keep their chat history) writable; the network on."""
        return attempt_confinement(
            sandbox=self.on, workspace=workspace, home=self.home, state=(*state, log_dir),
            readable=(*self.readable, *_program_paths(argv)), hidden=self.hidden, network=True,
        )  # fmt: skip

    def for_tests(self, checkout: Path, reports: Path, argv: Sequence[str]) -> Confinement:
        """A test command: its checkout and its reports folder writable."""
        return attempt_confinement(
            sandbox=self.on, workspace=checkout, home=self.home, state=(reports,),
            readable=(*self.readable, *_program_paths(argv)), hidden=self.hidden,
            network=self.network,
        )  # fmt: skip


def _program_paths(argv: Sequence[str]) -> list[Path]:
    """The files a command line names by absolute path under /tmp, which the sandbox replaces
    with a private one (a program in a virtual environment brings the whole environment:
    `<env>/bin/python` needs `<env>/lib`); `_toolchain` adds issuewave's own and PATH."""
    named = [Path(a) for a in argv if a.startswith("/") and Path(a).exists()]
    wanted = [p.parent.parent if p.parent.name == "bin" else p for p in named]
    return [p for p in wanted if p.is_relative_to("/tmp")]


# --- resolution -----------------------------------------------------------------------------
def resolve_sandbox(mode: SandboxMode) -> SandboxStatus:
    """What the setting means here. `bwrap` insists: a sandbox that does not work is a refusal,
    never a silent run without it; `auto` says why it is off."""
    processes = process_guard()
    if mode == "none":
        return SandboxStatus(False, "off (sandbox = none)", processes)
    problem, version = _bwrap_problem()
    if problem is None:
        return SandboxStatus(True, version, processes)
    if mode == "bwrap":
        raise PrecheckError(f"sandbox = bwrap, but {problem}", hint=_fix(problem))
    return SandboxStatus(False, f"off: {problem}", processes)


def _fix(problem: str) -> str:
    if "not installed" in problem:
        return f"{INSTALL_HINT}, or set sandbox = auto (or none) to run without it"
    return (
        "bwrap needs mount and PID namespaces: for an ordinary user, user namespaces (sysctls "
        "kernel.unprivileged_userns_clone=1, kernel.apparmor_restrict_unprivileged_userns=0); "
        "in a container, a seccomp profile that allows them; or set sandbox = none"
    )


def _bwrap_problem() -> tuple[str | None, str]:
    """(None, "bwrap 0.8.0") when the sandbox works here, else (why not, "")."""
    if sys.platform != "linux":
        return f"bubblewrap needs Linux (this is {sys.platform})", ""
    program = bwrap_program()
    if program is None:
        return f"bwrap is not installed ({INSTALL_HINT})", ""
    return _probe(program)


def bwrap_program() -> str | None:
    return shutil.which("bwrap")


@functools.cache
def _probe(program: str) -> tuple[str | None, str]:
    """Run the sandbox's core once per process and program: installed is not enough (user
    namespaces may be off, a container may forbid mounts)."""
    try:
        done = proc.run([program, *PROBE_ARGS], cwd=Path("/"), check=False, timeout=30)
        version = proc.run([program, "--version"], cwd=Path("/"), check=False, timeout=30)
    except IssuewaveError as exc:
        return f"bwrap could not be run: {exc.message}", ""
    if done.returncode != 0:
        reason = (done.stderr.strip() or f"exit {done.returncode}").splitlines()[-1]
        return f"bwrap does not work here ({reason})", ""
    return None, version.stdout.strip().replace("bubblewrap", "bwrap") or "bwrap"


@functools.cache
def process_guard(choice: CgroupChoice = "auto") -> str:
    """How an attempt's processes are bounded and killed here, worded for the run's header."""
    if sys.platform != "linux":
        return f"process group only ({sys.platform}: no cgroup, no subreaper)"
    cgroup = make_cgroup(f"probe-{os.getpid()}", 16, choice)
    if cgroup is not None:
        confine.remove_cgroup(cgroup.path)
    return _describe_guard(cgroup, root=os.getuid() == 0)


def _describe_guard(cgroup: Cgroup | None, *, root: bool) -> str:
    if cgroup is not None and cgroup.limited:
        ends = "cgroup.kill" if cgroup.version == 2 else "killed until empty"
        return f"cgroup v{cgroup.version} (pids.max; {ends})"
    kill = "cgroup v2 (cgroup.kill)" if cgroup is not None else "subreaper launcher"
    limit = "no process limit: root ignores RLIMIT_NPROC" if root else "RLIMIT_NPROC"
    return f"{kill}; {limit}"


# --- an attempt's confinement ---------------------------------------------------------------
def attempt_confinement(
    *,
    sandbox: bool,
    workspace: Path,
    home: Path,
    state: Sequence[str | Path] = (),
    readable: Sequence[Path] = (),
    hidden: Sequence[Path] = (),
    network: bool = True,
    max_processes: int = DEFAULT_MAX_PROCESSES,
) -> Confinement:
    """One attempt's confinement, ready to use.

    `state` are the agent CLI's entries (`~` is `home`), as its adapter declares them: a missing
    folder is made, so the CLI can write it; a missing file (a name with a suffix, such as
    ~/.claude.json) is not: the CLI finds a read-only home where it would create one. The user's
    credentials (CREDENTIAL_PATHS) join `hidden`, except what the agent's own state is; paths
    that do not exist are dropped. The home folder is readable, as anywhere outside /tmp, even
    when it lives there (tests do): the CLI reads its settings and git its ~/.gitconfig.
    """
    entries = [_under_home(entry, home) for entry in state]
    for entry in entries:
        if not entry.exists() and not entry.suffix:
            entry.mkdir(parents=True, exist_ok=True)
    writable = tuple(_real(p) for p in (workspace, *entries) if p.exists())
    secrets = [home / name for name in CREDENTIAL_PATHS]
    kept = [_real(p) for p in (*hidden, *secrets) if p.exists()]
    return Confinement(
        sandbox=sandbox,
        writable=writable,
        readable=tuple(_real(p) for p in (home, *readable) if p.exists()),
        hidden=tuple(dict.fromkeys(p for p in kept if not _owned(p, writable))),
        network=network,
        max_processes=max_processes,
    )


def _under_home(entry: str | Path, home: Path) -> Path:
    text = str(entry)
    return home / text[2:] if text.startswith("~/") else Path(text)


def _real(path: Path) -> Path:
    """Absolute, symlinks resolved: bwrap binds the real path, wherever a link points."""
    return path.resolve()


def _owned(path: Path, writable: Sequence[Path]) -> bool:
    """True when `path` is one of the agent's writable paths or inside one: its own, not hidden."""
    return any(path.is_relative_to(w) for w in writable)


# --- the command line -----------------------------------------------------------------------
def confined_argv(confinement: Confinement, argv: Sequence[str], cwd: Path) -> list[str]:
    """What to exec for `argv`: itself without the sandbox, else wrapped in bwrap."""
    if not confinement.sandbox:
        return list(argv)
    return [
        bwrap_program() or "bwrap",
        *_filesystem(confinement),
        *_isolation(confinement),
        "--chdir",
        str(cwd),
        "--",
        *argv,
    ]


def _filesystem(confinement: Confinement) -> list[str]:
    """bwrap mounts in order, each on top of those before it: so the read-only root comes first,
    then the private /tmp, then the paths of the confinement, shallow before deep."""
    args = [
        # Everything visible, nothing writable: programs, libraries and the user's files stay
        # usable, and whatever the agent plants outside its workspace fails with EROFS.
        *("--ro-bind", "/", "/"),
        # A fresh /dev (null, zero, random, tty, pts, shm): no disk or other device of the host.
        *("--dev", "/dev"),
        # The proc of the new PID namespace: no host process is visible (nor its environ).
        *("--proc", "/proc"),
        # A private /tmp: nothing read from or planted for other users of the host's /tmp. Paths
        # under /tmp that the attempt needs are bound again below, on top of it.
        *("--tmpfs", "/tmp"),
    ]
    for mount in _mounts(confinement):
        args += mount
    return args


def _mounts(confinement: Confinement) -> list[list[str]]:
    """bwrap options for each path of the confinement, shallow first, so that the deeper of two
    nested paths is mounted last and shows; at one depth a hidden path goes first."""
    readable = dict.fromkeys((*confinement.readable, *_toolchain()))
    mounts = [
        *((0, p, _hide(p)) for p in confinement.hidden if p.exists()),
        *((1, p, ["--ro-bind", str(p), str(p)]) for p in readable),
        *((2, p, ["--bind", str(p), str(p)]) for p in confinement.writable),
    ]
    mounts.sort(key=lambda mount: (len(mount[1].parts), mount[0]))
    return [args for _, _, args in mounts]


def _toolchain() -> list[Path]:
    """What every confined command may need that can live under /tmp, hidden by the private one:
    the environment issuewave runs from and its import path (an editable install's sources),
    which run the demo agent and agents written in Python, and the folders on PATH."""
    on_path = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d.startswith("/")]
    imports = [d for d in sys.path if d.startswith("/")]
    found = [Path(sys.prefix), *(Path(d) for d in (*imports, *on_path))]
    return [p.resolve() for p in found if p.is_dir() and p.resolve().is_relative_to("/tmp")]


def _hide(path: Path) -> list[str]:
    """A folder becomes an empty tmpfs, a file /dev/null: reads give nothing, writes vanish, and
    a tool that reads it (curl, ~/.netrc) sees an empty file rather than an error. --dev-bind,
    because other binds are nodev, and a nodev /dev/null cannot even be opened."""
    return ["--tmpfs", str(path)] if path.is_dir() else ["--dev-bind", "/dev/null", str(path)]


def _isolation(confinement: Confinement) -> list[str]:
    args = [
        # Its own PID namespace: host processes (the orchestrator, other attempts) are neither
        # visible nor signalable, and when its first process ends the kernel kills all the rest.
        "--unshare-pid",
        # No System V IPC or POSIX message queue shared with the host.
        "--unshare-ipc",
        # bwrap and everything in it get SIGKILL when the launcher dies, however it died.
        "--die-with-parent",
        # setsid(): no controlling terminal to push keystrokes into (TIOCSTI).
        "--new-session",
        # Root inside has no capability: it cannot remount, ptrace, or override permissions.
        *("--cap-drop", "ALL"),
    ]
    # No --unshare-user: bwrap makes a user namespace itself when it is not privileged, and as
    # root one would only map file owners. No --unshare-uts or -cgroup: nothing to hide there
    # (the cgroup files are read-only like the rest).
    if not confinement.network:
        args.append("--unshare-net")  # an empty network namespace: only its own loopback
    return args


# --- cgroups --------------------------------------------------------------------------------
def make_cgroup(name: str, max_processes: int, choice: CgroupChoice = "auto") -> Cgroup | None:
    """The attempt's cgroup, `pids.max` set where the controller is there; None where none can
    be made (no cgroup filesystem, or not writable by this user). A leftover of the same name
    (an earlier attempt killed with its orchestrator) is emptied first."""
    v2 = _make(_v2_parent(), name, 2, max_processes) if choice in ("auto", "v2") else None
    if v2 is not None and (v2.limited or choice == "v2"):
        return v2
    v1 = _make(_v1_parent(), name, 1, max_processes) if choice in ("auto", "v1") else None
    if v1 is None:
        return v2
    if v2 is not None:
        confine.remove_cgroup(v2.path)
    return v1


def _make(parent: Path | None, name: str, version: Literal[1, 2], limit: int) -> Cgroup | None:
    if parent is None:
        return None
    folder = parent / (_CGROUP_PREFIX + _safe_name(name))
    try:
        if version == 2:
            _delegate_pids(parent)
        if folder.exists():
            confine.kill_cgroup(folder)
        folder.mkdir(exist_ok=True)
        limited = (folder / "pids.max").exists()
        if limited:
            (folder / "pids.max").write_text(f"{limit}\n")
    except OSError:
        return None
    return Cgroup(folder, version, limited)


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _delegate_pids(parent: Path) -> None:
    """cgroup v2 gives a child the pids controller only if its parent passes it down; try to."""
    controllers = (parent / "cgroup.controllers").read_text().split()
    delegated = (parent / "cgroup.subtree_control").read_text().split()
    if "pids" in controllers and "pids" not in delegated:
        with contextlib.suppress(OSError):  # EBUSY: the parent holds processes of its own
            (parent / "cgroup.subtree_control").write_text("+pids\n")


def _v2_parent() -> Path | None:
    """Our own cgroup in the v2 hierarchy: /sys/fs/cgroup (pure v2) or .../unified (hybrid)."""
    own = _own_cgroup(lambda hierarchy, controllers: hierarchy == "0" and controllers == "")
    for mount in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
        if own is not None and (mount / "cgroup.controllers").is_file():
            return mount / own.lstrip("/")
    return None


def _v1_parent() -> Path | None:
    """Our own cgroup in the v1 pids hierarchy, where there is one."""
    own = _own_cgroup(lambda hierarchy, controllers: "pids" in controllers.split(","))
    mount = Path("/sys/fs/cgroup/pids")
    if own is None or not (mount / "cgroup.procs").is_file():
        return None
    return mount / own.lstrip("/")


def _own_cgroup(matches: _Matcher) -> str | None:
    """This process's cgroup path in the hierarchy `matches` picks from /proc/self/cgroup."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        hierarchy, controllers, path = line.split(":", 2)
        if matches(hierarchy, controllers):
            return path
    return None


# --- running under it -----------------------------------------------------------------------
@contextlib.contextmanager
def enclosed(
    confinement: Confinement, argv: Sequence[str], *, cwd: Path, tag: str
) -> Iterator[list[str]]:
    """The launcher's command line for `argv`; around it the attempt's cgroup, made before and
    killed and removed after (the launcher does both too, unless it was killed first)."""
    if sys.platform != "linux":
        yield confined_argv(confinement, argv, cwd)
        return
    cgroup = make_cgroup(tag, confinement.max_processes, confinement.cgroup)
    try:
        yield [*launcher_argv(confinement, cgroup), *confined_argv(confinement, argv, cwd)]
    finally:
        if cgroup is not None:
            confine.kill_cgroup(cgroup.path)
            confine.remove_cgroup(cgroup.path)


def launcher_argv(confinement: Confinement, cgroup: Cgroup | None) -> list[str]:
    argv = [sys.executable, "-I", "-S", confine.__file__, "--parent", str(os.getpid())]
    # Less than proc's grace: the launcher cleans up before proc's SIGKILL would stop it.
    argv += ["--grace", str(proc.KILL_GRACE_S / 2)]
    if cgroup is not None:
        argv += ["--cgroup", str(cgroup.path)]
    if cgroup is None or not cgroup.limited:
        argv += ["--nproc", str(confinement.max_processes)]
    if confinement.sandbox:
        argv.append("--sandboxed")
    else:
        argv += ["--drop-caps", ",".join(str(n) for n in MEMORY_CAPABILITIES)]
    return [*argv, "--"]


# --- the orchestrator -----------------------------------------------------------------------
def harden_orchestrator() -> None:
    """Make this process non-dumpable (call it first thing in `run` and `resume`).

    Then no other process of the user may read its /proc/<pid>/environ or mem, nor ptrace it,
    and it dumps no core: the forge token in its environment and memory stays its own. Root
    overrides this with CAP_SYS_PTRACE (and more: MEMORY_CAPABILITIES), which the launcher takes
    from an attempt outside the sandbox; inside it the orchestrator is not even visible. The flag
    is reset by exec: the orchestrator's other children (git) are not covered. No-op off Linux.
    """
    if sys.platform == "linux":
        confine.prctl(confine.PR_SET_DUMPABLE, 0)
