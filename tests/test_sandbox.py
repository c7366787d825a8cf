"""Confinement of an attempt, with real processes: bubblewrap, cgroups, the launcher, the kernel.

Each test runs what an agent would run through `proc.supervise(confinement=...)` and checks what a
user relies on: nothing written outside the workspace, nothing secret read, nothing left alive.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

from issuewave import confine, proc, sandbox
from issuewave.config import Config, load_config
from issuewave.errors import InputError, PrecheckError
from issuewave.sandbox import Confinement, attempt_confinement, confined_argv, resolve_sandbox

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="confinement is Linux's")
needs_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None,
    reason="bubblewrap is not installed: `make test` installs it (apt-get install bubblewrap); "
    "CI always has it",
)
pytestmark = linux_only
ROOT = os.getuid() == 0


# --- helpers --------------------------------------------------------------------------------
def supervised(
    confinement: Confinement,
    argv: list[str],
    cwd: Path,
    *,
    timeout: float = 20,
    tag: str = "sandbox-test",
) -> tuple[proc.Outcome, str]:
    """Run `argv` confined, as the executor does; its outcome and its output (both streams)."""
    log = cwd.parent / f"{tag}.log"
    log.unlink(missing_ok=True)
    outcome = asyncio.run(
        proc.supervise(
            argv,
            cwd=cwd,
            env=proc.clean_env(),
            timeout=timeout,
            stdout_path=log,
            tag=tag,
            confinement=confinement,
        )
    )
    return outcome, log.read_text()


def sh(script: str) -> list[str]:
    return ["sh", "-c", textwrap.dedent(script)]


def py(source: str, *args: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(source), *args]


def alive_with(marker: str) -> list[int]:
    """Pids of live (not zombie) processes whose command line holds `marker`."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            mine = marker.encode() in (entry / "cmdline").read_bytes()
            if mine and (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                found.append(int(entry.name))
        except (OSError, IndexError):
            continue
    return [pid for pid in found if pid != os.getpid()]


def all_dead(marker: str, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive_with(marker):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def marker(request: pytest.FixtureRequest) -> Iterator[str]:
    """A word in the command line of every process a test starts; leftovers are killed."""
    word = f"iw-marker-{os.getpid()}-{abs(hash(request.node.nodeid))}"
    yield word
    for pid in alive_with(word):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def layout(tmp_path: Path, isolated_environment: Path) -> dict[str, Path]:
    """A main checkout with a workspace beside it, and a temporary home with an agent's state."""
    main, workspace = tmp_path / "main", tmp_path / "workspace"
    (main / ".git" / "objects").mkdir(parents=True)
    (main / "README").write_text("the user's checkout\n")
    (main / ".git" / "objects" / "pack-1").write_text("borrowed objects\n")
    workspace.mkdir()
    home = isolated_environment
    return {"main": main, "workspace": workspace, "home": home}


def confined(
    layout: dict[str, Path], *, hidden: tuple[Path, ...] = (), network: bool = True
) -> Confinement:
    """An attempt in the sandbox as the executor builds it: the main checkout readable."""
    return attempt_confinement(
        sandbox=True,
        workspace=layout["workspace"],
        home=layout["home"],
        state=("~/.agent-state", "~/.agent.json"),
        readable=(layout["main"],),
        hidden=hidden,
        network=network,
    )


def cgroup_available(choice: sandbox.CgroupChoice) -> sandbox.Cgroup | None:
    made = sandbox.make_cgroup(f"available-{os.getpid()}", 16, choice)
    if made is not None:
        confine.remove_cgroup(made.path)
    return made


# --- settings and resolution ----------------------------------------------------------------
def test_the_settings_default_to_auto_with_network(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert (config.sandbox, config.sandbox_network) == ("auto", True)
    (tmp_path / ".issuewave.toml").write_text('sandbox = "bwrap"\nsandbox_network = false\n')
    assert load_config(tmp_path).sandbox == "bwrap"
    assert load_config(tmp_path).sandbox_network is False


def test_the_setting_takes_exactly_the_modes_the_sandbox_resolves() -> None:
    annotation = Config.model_fields["sandbox"].annotation
    assert typing.get_args(annotation) == typing.get_args(sandbox.SandboxMode)


def test_an_unknown_sandbox_mode_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_config(tmp_path, {"sandbox": "docker"})
    assert "'sandbox'" in caught.value.message
    assert Config().sandbox == "auto"


def test_sandbox_none_is_off_and_says_why() -> None:
    status = resolve_sandbox("none")
    assert (status.on, status.shown) == (False, "off (sandbox = none)")
    assert status.processes  # the process guarantees hold without the sandbox too


def without_bwrap_on_path(tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    os.environ["PATH"] = str(empty)


def test_auto_without_bwrap_is_off_and_names_the_package(tmp_path: Path) -> None:
    without_bwrap_on_path(tmp_path)
    status = resolve_sandbox("auto")
    assert not status.on
    assert status.shown == "off: bwrap is not installed (apt-get install bubblewrap)"


def test_bwrap_required_but_missing_is_a_refusal_naming_the_fix(tmp_path: Path) -> None:
    without_bwrap_on_path(tmp_path)
    with pytest.raises(PrecheckError) as caught:
        resolve_sandbox("bwrap")
    assert "bwrap is not installed" in caught.value.message
    assert caught.value.hint is not None and "apt-get install bubblewrap" in caught.value.hint


def test_a_bwrap_that_fails_its_probe_is_a_refusal_quoting_its_error(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    os.environ["PATH"] = f"{fake.parent}:/usr/bin:/bin"
    with pytest.raises(PrecheckError) as caught:
        resolve_sandbox("bwrap")
    assert "setting up uid map: Permission denied" in caught.value.message
    assert caught.value.hint is not None and "sandbox = none" in caught.value.hint
    status = resolve_sandbox("auto")
    assert not status.on and "setting up uid map" in status.shown


@needs_bwrap
@pytest.mark.parametrize("mode", ["auto", "bwrap"])
def test_a_working_bwrap_is_on_with_its_version(mode: sandbox.SandboxMode) -> None:
    status = resolve_sandbox(mode)
    assert status.on
    assert status.shown.startswith("bwrap ") and status.shown[6].isdigit()


def test_the_process_guard_names_what_bounds_the_processes_here() -> None:
    made = cgroup_available("auto")
    shown = sandbox.process_guard()
    if made is not None and made.limited:
        assert shown.startswith(f"cgroup v{made.version} (pids.max")
    elif ROOT:
        assert "no process limit: root ignores RLIMIT_NPROC" in shown
    else:
        assert "RLIMIT_NPROC" in shown


# --- building a confinement -----------------------------------------------------------------
def test_an_attempt_gets_its_state_folders_made_and_other_tools_credentials_hidden(
    layout: dict[str, Path],
) -> None:
    home = layout["home"]
    (home / ".ssh").mkdir()
    (home / ".git-credentials").write_text("https://u:tok@host\n")
    (home / ".config" / "gh").mkdir(parents=True)
    (home / ".agent.json").write_text("{}")
    made = attempt_confinement(
        sandbox=True,
        workspace=layout["workspace"],
        home=home,
        state=("~/.agent-state", "~/.agent.json", "~/.missing.json", "~/.config/gh"),
        hidden=(layout["main"] / ".git" / "issuewave",),  # does not exist: dropped
    )
    assert made.writable == (
        layout["workspace"].resolve(),
        (home / ".agent-state").resolve(),
        (home / ".agent.json").resolve(),
        (home / ".config" / "gh").resolve(),  # the agent's own state (copilot uses gh's login)
    )
    assert (home / ".agent-state").is_dir()
    assert not (home / ".missing.json").exists()  # a file is not made up
    assert set(made.hidden) == {(home / ".ssh").resolve(), (home / ".git-credentials").resolve()}


def test_bwrap_mounts_the_private_tmp_before_what_lives_under_it(tmp_path: Path) -> None:
    outer, inner = tmp_path / "hidden-state", tmp_path / "hidden-state" / "prompt"
    inner.mkdir(parents=True)
    argv = confined_argv(
        Confinement(sandbox=True, writable=(tmp_path,), readable=(inner,), hidden=(outer,)),
        ["agent", "--flag"],
        tmp_path,
    )
    assert argv.index("/tmp") < argv.index(str(tmp_path)) < argv.index(str(outer))
    assert argv.index(str(outer)) < argv.index(str(inner))  # deeper paths show through
    assert argv[-3:] == ["--", "agent", "--flag"]
    assert "--unshare-net" not in argv and "--unshare-user" not in argv
    off = Confinement(sandbox=True, writable=(tmp_path,), network=False)
    assert "--unshare-net" in confined_argv(off, ["agent"], tmp_path)
    assert confined_argv(Confinement(sandbox=False, writable=()), ["a"], tmp_path) == ["a"]


# --- the filesystem inside the sandbox ------------------------------------------------------
@needs_bwrap
def test_outside_the_workspace_and_state_everything_is_read_only(layout: dict[str, Path]) -> None:
    home, main, workspace = layout["home"], layout["main"], layout["workspace"]
    gitconfig = (home / ".gitconfig").read_text()
    outcome, output = supervised(
        confined(layout),
        py(
            """
            import sys
            from pathlib import Path
            for path in sys.argv[1:]:
                try:
                    Path(path).write_text("planted\\n")
                    print("wrote", path)
                except OSError as exc:
                    print("refused", path, exc.strerror)
            """,
            str(main / "README"),
            str(home / ".gitconfig"),
            str(main / ".git" / "objects" / "pack-1"),
            str(workspace / "change.py"),
            str(home / ".agent-state" / "session"),
        ),
        workspace,
    )
    assert outcome.returncode == 0, output
    assert f"refused {main / 'README'} Read-only file system" in output
    assert f"refused {home / '.gitconfig'} Read-only file system" in output
    assert f"refused {main / '.git' / 'objects' / 'pack-1'} Read-only file system" in output
    assert f"wrote {workspace / 'change.py'}" in output
    assert f"wrote {home / '.agent-state' / 'session'}" in output
    assert (main / "README").read_text() == "the user's checkout\n"
    assert (home / ".gitconfig").read_text() == gitconfig
    assert (workspace / "change.py").read_text() == "planted\n"
    assert (home / ".agent-state" / "session").read_text() == "planted\n"


@needs_bwrap
def test_tmp_is_private_but_what_the_attempt_needs_under_it_is_visible(
    layout: dict[str, Path], tmp_path: Path
) -> None:
    assert str(tmp_path).startswith("/tmp/"), "this test is about paths under /tmp"
    host_file = tmp_path / "someone-elses.txt"
    host_file.write_text("not for the agent\n")
    planted = Path("/tmp") / f"planted-by-agent-{os.getpid()}"
    outcome, output = supervised(
        confined(layout),
        sh(
            f"""
            echo from-the-agent > {planted} && echo planted
            cat {planted}
            test -e {host_file} && echo host-file-visible || echo host-file-invisible
            cat {layout["main"] / ".git" / "objects" / "pack-1"}
            """
        ),
        layout["workspace"],
    )
    assert outcome.returncode == 0, output
    assert output.splitlines() == [
        "planted",
        "from-the-agent",
        "host-file-invisible",
        "borrowed objects",
    ]
    assert not planted.exists()  # it was the sandbox's own /tmp, gone with it


@needs_bwrap
def test_hidden_paths_are_empty(layout: dict[str, Path]) -> None:
    home = layout["home"]
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_ed25519").write_text("PRIVATE KEY\n")
    (home / ".git-credentials").write_text("https://user:hunter2-token@github.com\n")
    state = layout["main"] / ".git" / "issuewave"
    (state / "acceptance").mkdir(parents=True)
    (state / "acceptance" / "test_hidden.py").write_text("assert secret_behaviour()\n")
    outcome, output = supervised(
        confined(layout, hidden=(state,)),
        sh(
            f"""
            ls -A {home / ".ssh"} | wc -l
            cat {home / ".ssh" / "id_ed25519"} 2>/dev/null || echo no-key
            wc -c < {home / ".git-credentials"}
            ls -A {state} | wc -l
            """
        ),
        layout["workspace"],
    )
    assert outcome.returncode == 0, output
    assert output.split() == ["0", "no-key", "0", "0"]
    assert "hunter2" not in output and "PRIVATE" not in output


@needs_bwrap
@pytest.mark.parametrize("network", [True, False], ids=["network", "no-network"])
def test_without_network_not_even_the_hosts_loopback_answers(
    layout: dict[str, Path], network: bool
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        outcome, output = supervised(
            confined(layout, network=network),
            py(
                """
                import socket, sys
                try:
                    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).close()
                    print("connected")
                except OSError as exc:
                    print("refused", type(exc).__name__)
                """,
                str(port),
            ),
            layout["workspace"],
        )
    assert outcome.returncode == 0, output
    assert output.startswith("connected" if network else "refused"), output


# --- every process dead at the end ----------------------------------------------------------
# A grandchild that leaves the process group (setsid), clears its environment (no tag to find
# it by), ignores SIGTERM and would sleep for five minutes.
ESCAPE = """
    import os, signal, sys, time
    from pathlib import Path
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # ignored stays ignored through exec
            os.execve(sys.executable, [sys.executable, "-c", "import time; time.sleep(300)",
                                       sys.argv[1]], {{}})
        os._exit(0)
    os.wait()
    time.sleep(0.3)
    Path("escaped").write_text("ready\\n")
    {then}
"""
# Each mechanism alone where it can be: bwrap without a cgroup proves that killing the sandbox
# kills all in it; "subreaper" is the fallback where no cgroup can be made.
MODES = [
    pytest.param(True, "auto", id="sandbox", marks=needs_bwrap),
    pytest.param(True, "none", id="sandbox-without-cgroup", marks=needs_bwrap),
    pytest.param(False, "auto", id="cgroup"),
    pytest.param(False, "v2", id="cgroup-v2-kill"),
    pytest.param(False, "none", id="subreaper"),
]
# The subreaper cannot hold against a command that kills its launcher: its orphans go to init.
HOLDS_WHEN_THE_LAUNCHER_IS_KILLED = [mode for mode in MODES if mode.id != "subreaper"]


def mode(sandbox_on: bool, choice: sandbox.CgroupChoice, workspace: Path) -> Confinement:
    """The confinement a MODES case names; skipped where its cgroup cannot be made here."""
    if not sandbox_on and choice != "none" and cgroup_available(choice) is None:
        pytest.skip(f"no cgroup ({choice}) can be made here")
    return Confinement(sandbox=sandbox_on, writable=(workspace,), cgroup=choice)


def no_cgroup_left(tag: str) -> bool:
    roots = [Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup/pids")]
    return not [path for root in roots for path in root.glob(f"**/issuewave-{tag}")]


@pytest.mark.parametrize(("sandbox_on", "choice"), MODES)
@pytest.mark.parametrize("ending", ["exits", "times-out"])
def test_an_escaped_grandchild_dies_with_the_attempt(
    layout: dict[str, Path],
    marker: str,
    sandbox_on: bool,
    choice: sandbox.CgroupChoice,
    ending: str,
) -> None:
    workspace = layout["workspace"]
    then = "pass" if ending == "exits" else "time.sleep(60)"
    started = time.monotonic()
    outcome, output = supervised(
        mode(sandbox_on, choice, workspace),
        py(ESCAPE.format(then=then), marker),
        workspace,
        timeout=3,
        tag=marker,
    )
    assert (workspace / "escaped").exists(), output
    assert outcome.timed_out == (ending == "times-out")
    assert time.monotonic() - started < 15
    assert all_dead(marker), f"left alive: {alive_with(marker)}"
    assert no_cgroup_left(marker)


@pytest.mark.parametrize(("sandbox_on", "choice"), HOLDS_WHEN_THE_LAUNCHER_IS_KILLED)
def test_a_command_that_kills_its_launcher_still_leaves_nothing_behind(
    layout: dict[str, Path], marker: str, sandbox_on: bool, choice: sandbox.CgroupChoice
) -> None:
    workspace = layout["workspace"]
    then = "os.kill(os.getppid(), signal.SIGKILL); time.sleep(60)"
    outcome, output = supervised(
        mode(sandbox_on, choice, workspace),
        py(ESCAPE.format(then=then), marker),
        workspace,
        timeout=3,
    )
    assert (workspace / "escaped").exists(), output
    if sandbox_on:  # its parent is the namespace's init, which ignores it: the timeout ends it
        assert outcome.timed_out
    else:
        assert outcome.returncode == -signal.SIGKILL
    assert all_dead(marker), f"left alive: {alive_with(marker)}"


ORCHESTRATOR = """
    import asyncio, sys
    from pathlib import Path
    from issuewave import proc
    from issuewave.sandbox import Confinement
    workspace = Path(sys.argv[1])
    asyncio.run(proc.supervise(
        sys.argv[4:], cwd=workspace, env=proc.clean_env(), timeout=None,
        stdout_path=workspace.parent / "orchestrated.log", tag="orphaned",
        confinement=Confinement(sandbox=sys.argv[2] == "1", writable=(workspace,),
                                cgroup=sys.argv[3]),
    ))
"""


@pytest.mark.parametrize(("sandbox_on", "choice"), MODES)
def test_everything_dies_when_the_orchestrator_is_killed(
    layout: dict[str, Path], marker: str, sandbox_on: bool, choice: sandbox.CgroupChoice
) -> None:
    workspace = layout["workspace"]
    mode(sandbox_on, choice, workspace)  # skips where this cgroup cannot be made
    command = py(ESCAPE.format(then="time.sleep(300)"), marker)
    orchestrator = subprocess.Popen(
        py(ORCHESTRATOR, str(workspace), "1" if sandbox_on else "0", choice, *command, marker)
    )
    try:
        deadline = time.monotonic() + 20
        while not (workspace / "escaped").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (workspace / "escaped").exists()
        assert len(alive_with(marker)) >= 2  # the orchestrator's command and the grandchild
        orchestrator.kill()  # SIGKILL: it runs no cleanup of its own
        orchestrator.wait()
        assert all_dead(marker), f"left alive: {alive_with(marker)}"
    finally:
        orchestrator.kill()
        orchestrator.wait()


def test_the_launcher_passes_on_the_exit_code_a_signal_and_a_missing_program(
    layout: dict[str, Path],
) -> None:
    confinement, workspace = Confinement(sandbox=False, writable=()), layout["workspace"]
    assert supervised(confinement, sh("exit 3"), workspace)[0].returncode == 3
    assert supervised(confinement, sh("kill -TERM $$"), workspace)[0].returncode == -15
    outcome, output = supervised(confinement, ["issuewave-no-such-program"], workspace)
    assert outcome.returncode == 127
    assert "issuewave-no-such-program" in output


@pytest.mark.parametrize(
    "sandbox_on", [pytest.param(True, marks=needs_bwrap, id="sandbox"), False], ids=str
)
def test_a_timed_out_command_still_gets_sigterm_and_a_moment_to_end(
    layout: dict[str, Path], sandbox_on: bool
) -> None:
    if sandbox_on and cgroup_available("auto") is None:
        pytest.skip("bwrap dies of SIGTERM at once; only a cgroup shows the processes inside")
    outcome, output = supervised(
        Confinement(sandbox=sandbox_on, writable=(layout["workspace"],)),
        sh("trap 'echo cleaned up; exit 0' TERM; while :; do sleep 0.05; done"),
        layout["workspace"],
        timeout=1,
    )
    assert outcome.timed_out
    assert "cleaned up" in output


FORK_BOMB = """
    import os, sys, time
    from pathlib import Path
    end = time.monotonic() + 30  # bounded in time, whatever happens
    while time.monotonic() < end:
        try:
            if os.fork() == 0:
                continue  # the child forks on as well
        except BlockingIOError:  # EAGAIN: the limit holds
            Path("refused").touch()
            time.sleep(0.05)
        time.sleep(0.01)
"""


@pytest.mark.parametrize(
    "sandbox_on", [pytest.param(True, marks=needs_bwrap, id="sandbox"), False], ids=str
)
def test_a_fork_bomb_is_bounded_and_ends_with_the_attempt(
    layout: dict[str, Path], marker: str, sandbox_on: bool
) -> None:
    made = cgroup_available("auto")
    if (made is None or not made.limited) and ROOT:
        pytest.skip("no pids cgroup here, and root ignores RLIMIT_NPROC: nothing bounds it")
    if made is None or not made.limited:
        pytest.skip("RLIMIT_NPROC counts all of the user's processes: not run on a shared box")
    limit, peak = 64, 0
    workspace = layout["workspace"]

    async def bomb() -> proc.Outcome:
        nonlocal peak
        task = asyncio.create_task(
            proc.supervise(
                py(FORK_BOMB, marker),
                cwd=workspace,
                env=proc.clean_env(),
                timeout=3,
                stdout_path=workspace.parent / "bomb.log",
                tag=marker,
                confinement=Confinement(
                    sandbox=sandbox_on, writable=(workspace,), max_processes=limit
                ),
            )
        )
        while not task.done():
            peak = max(peak, len(alive_with(marker)))
            await asyncio.sleep(0.05)
        return await task

    outcome = asyncio.run(bomb())
    assert outcome.timed_out
    assert (workspace / "refused").exists(), "the limit was never reached"
    assert peak <= limit + 1  # the launcher stands outside the cgroup
    assert all_dead(marker), f"left alive: {len(alive_with(marker))}"
    assert subprocess.run(["true"], check=False).returncode == 0  # the machine still forks
    assert no_cgroup_left(marker)


# --- no secret within reach -----------------------------------------------------------------
SECRET = "hunter2-orchestrator-token"
SNOOPER = """
    import asyncio, sys
    from pathlib import Path
    from issuewave import confine, proc, sandbox
    if sys.argv[2] == "harden":
        sandbox.harden_orchestrator()
    workspace, me = Path(sys.argv[1]), str(__import__("os").getpid())
    script = (
        'echo "parent: $(tr "\\\\0" " " < /proc/$PPID/environ)"; '
        f'echo "orchestrator: $(tr "\\\\0" " " < /proc/{me}/environ)"; '
        f'test -e /proc/{me} && echo orchestrator-visible || echo orchestrator-invisible'
    )
    env = {k: v for k, v in proc.clean_env().items() if k != "FORGE_TOKEN"}
    asyncio.run(proc.supervise(
        ["sh", "-c", script], cwd=workspace, env=env, timeout=20,
        stdout_path=workspace.parent / "snooped.log", tag="snoop",
        confinement=None if sys.argv[3] == "bare" else sandbox.Confinement(
            sandbox=sys.argv[3] == "sandbox", writable=(workspace,)
        ),
    ))
"""


def snooped(workspace: Path, *, harden: bool, how: str) -> str:
    """What an attempt run `how` (bare, confined, sandbox) read of its parent's and the
    orchestrator's environment."""
    subprocess.run(
        py(SNOOPER, str(workspace), "harden" if harden else "soft", how),
        env={**os.environ, "FORGE_TOKEN": SECRET},
        check=True,
        timeout=60,
    )
    return (workspace.parent / "snooped.log").read_text()


def test_a_bare_child_reads_the_orchestrators_environment(layout: dict[str, Path]) -> None:
    """The control: the threat is real, so the next test proves something. As root, being
    non-dumpable alone does not stop it (CAP_SYS_PTRACE overrides it)."""
    assert SECRET in snooped(layout["workspace"], harden=False, how="bare")
    if ROOT:
        assert SECRET in snooped(layout["workspace"], harden=True, how="bare")


@pytest.mark.parametrize("how", [pytest.param("sandbox", marks=needs_bwrap), "confined"], ids=str)
def test_no_attempt_reads_the_hardened_orchestrators_environment(
    layout: dict[str, Path], how: str
) -> None:
    output = snooped(layout["workspace"], harden=True, how=how)
    assert SECRET not in output
    assert "parent: " in output  # it did run
    if how == "sandbox":
        assert "orchestrator-invisible" in output  # its own PID namespace
    else:
        assert "Permission denied" in output


@needs_bwrap
def test_root_in_the_sandbox_has_no_capability(layout: dict[str, Path]) -> None:
    outcome, output = supervised(
        confined(layout), sh("grep -E '^Cap(Eff|Prm)' /proc/self/status"), layout["workspace"]
    )
    assert outcome.returncode == 0
    assert [line.split()[1] for line in output.splitlines()] == ["0" * 16, "0" * 16]


def test_outside_the_sandbox_an_attempt_holds_no_capability_that_reads_memory(
    layout: dict[str, Path],
) -> None:
    outcome, output = supervised(
        Confinement(sandbox=False, writable=()),
        sh("grep -E '^Cap(Eff|Bnd)' /proc/self/status"),
        layout["workspace"],
    )
    assert outcome.returncode == 0
    for line in output.splitlines():
        held = int(line.split()[1], 16)
        assert not [cap for cap in sandbox.MEMORY_CAPABILITIES if held & (1 << cap)], line
