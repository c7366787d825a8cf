"""Hostile agents: each does real work, then something it must not. Every one must end as failed
with a reason that names what it did, the user's repository byte-for-byte as before (refs, config,
hooks, info, ignored files, the global git config), no process left, and no secret in any log.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import Project, git

SECRET = "ghp_s3cretTokenValue0123456789"
# Every hostile agent first does honest work, so that only its misdeed can fail it. Where the
# sandbox stops the misdeed, the agent says so on stderr and exits 3: its reason names it.
HONEST_WORK = """
import os, pathlib, subprocess, sys
ws = pathlib.Path.cwd()
repo = ws.parent.parent  # the workspace is <repo>/.worktrees/issue-N
pathlib.Path("work").mkdir(exist_ok=True)
pathlib.Path("work", "done.txt").write_text("done\\n")
def sh(*argv):
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode:
        raise OSError(done.stderr.strip().splitlines()[-1])
    return done
"""
BLOCKED = "blocked: "

HOSTILE = {
    "hook in the repository's hooks": (
        """
        hook = repo / ".git" / "hooks" / "post-commit"
        hook.write_text("#!/bin/sh\\nenv > " + str(repo.parent / "stolen-env") + "\\n")
        hook.chmod(0o755)
        """,
        "hook .git/hooks/post-commit of the repository added",
    ),
    "reference-transaction hook": (
        """
        hook = repo / ".git" / "hooks" / "reference-transaction"
        hook.write_text("#!/bin/sh\\nenv > " + str(repo.parent / "stolen-env") + "\\n")
        hook.chmod(0o755)
        """,
        "hook .git/hooks/reference-transaction of the repository added",
    ),
    "core.hooksPath in the repository's config": (
        """
        sh("git", "--git-dir", str(repo / ".git"), "config", "core.hooksPath", str(repo.parent))
        """,
        "file .git/config of the repository changed",
    ),
    "core.fsmonitor in the repository's config": (
        """
        evil = "touch " + str(repo.parent / "fsmonitor-ran")
        sh("git", "--git-dir", str(repo / ".git"), "config", "core.fsmonitor", evil)
        """,
        "file .git/config of the repository changed",
    ),
    "an ignored .env in the main checkout": (
        """
        (repo / ".env").write_text("API=stolen\\n")
        """,
        "file .env of the main checkout changed",
    ),
    "a tracked file written through ..": (
        """
        (ws / ".." / ".." / "run_checks.py").write_text("print('pwned')\\n")
        """,
        "file run_checks.py of the main checkout changed",
    ),
    "a release tag moved": (
        """
        main = sh("git", "--git-dir", str(repo / ".git"), "rev-parse", "main").stdout.strip()
        sh("git", "--git-dir", str(repo / ".git"), "update-ref", "refs/tags/v1.0", main)
        """,
        "ref refs/tags/v1.0 moved",
    ),
    "a branch and a tag created": (
        """
        main = sh("git", "--git-dir", str(repo / ".git"), "rev-parse", "main").stdout.strip()
        sh("git", "--git-dir", str(repo / ".git"), "update-ref", "refs/heads/evil", main)
        sh("git", "--git-dir", str(repo / ".git"), "update-ref", "refs/tags/evil", main)
        """,
        "ref refs/heads/evil created",
    ),
    "git config --global": (
        """
        sh("git", "config", "--global", "core.fsmonitor", "touch /tmp/global-fsmonitor")
        """,
        ".gitconfig changed",
    ),
    "a hook in its workspace's own .git": (
        """
        hook = ws / ".git" / "hooks" / "post-commit"
        hook.parent.mkdir(exist_ok=True)
        hook.write_text("#!/bin/sh\\ntouch " + str(repo.parent / "own-hook-ran") + "\\n")
        hook.chmod(0o755)
        """,
        "hook .git/hooks/post-commit planted in its workspace",
    ),
    "an attributes filter": (
        """
        (ws / ".gitattributes").write_text("* filter=evil\\n")
        evil = "sh -c 'touch " + str(repo.parent / "filter-ran") + "; cat'"
        sh("git", "config", "filter.evil.clean", evil)
        """,
        "its .git/config was changed",
    ),
    "a symlink out of the workspace": (
        """
        os.symlink("../../.env", "escape")
        """,
        "symbolic link that leads out of its workspace: escape -> ../../.env",
    ),
    "its .git turned into a worktree of the repository": (
        """
        (ws / ".git" / "commondir").write_text(str(repo / ".git") + "\\n")
        """,
        "its .git/commondir was added",
    ),
}


def _repository_state(root: Path, home: Path) -> dict[str, object]:
    """What must be byte-for-byte as before: refs (but the run's own), git files, ignored files,
    the global config."""
    refs = git(root, "for-each-ref", "--format=%(refname) %(objectname)").splitlines()
    ours = ("refs/heads/feature/", "refs/issuewave/")
    files = {}
    for folder in (root / ".git" / "hooks", root / ".git" / "info"):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                files[str(path.relative_to(root))] = path.read_bytes()
    for name in (".git/config", ".env", "run_checks.py"):
        files[name] = (root / name).read_bytes()
    files["~/.gitconfig"] = (home / ".gitconfig").read_bytes()
    return {"refs": [r for r in refs if not r.startswith(ours)], "files": files}


def _guarded(script: str) -> str:
    body = textwrap.indent(textwrap.dedent(script), "    ")
    return (
        f"{HONEST_WORK}\ntry:\n{body}\nexcept OSError as exc:\n"
        f"    print('{BLOCKED}' + str(exc), file=sys.stderr)\n    sys.exit(3)\n"
    )


def _prepare(project: Project, script: str, sandbox: str) -> None:
    project.write(".gitignore", ".env\n")
    project.write(".env", "API=original\n")
    project.add_issue(1, "Honest work, then mischief")
    project.commit("ignore .env")
    git(project.root, "tag", "v1.0")
    git(project.root, "commit", "-q", "--allow-empty", "-m", "after the release")
    agent = project.agent("hostile", _guarded(script))
    project.configure(agent_cmd=agent, max_attempts=1, jobs=1, sandbox=sandbox)
    # What `run` itself adds to .git/info/exclude, so that "before" already holds it.
    exclude = project.root / ".git" / "info" / "exclude"
    exclude.parent.mkdir(exist_ok=True)
    exclude.write_text("# issuewave worktrees\n/.worktrees/\n")


@pytest.mark.parametrize("sandbox", ["none", "bwrap"])
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_agent_fails_named_and_leaves_the_repository_as_it_was(
    project: Project, isolated_environment: Path, name: str, sandbox: str
) -> None:
    script, named = HOSTILE[name]
    _prepare(project, script, sandbox)
    before = _repository_state(project.root, isolated_environment)

    done = project.cli("run", "--json", env={"GITHUB_TOKEN": SECRET})

    (task,) = json.loads(done.stdout)["issues"]
    if sandbox == "bwrap" and task["status"] == "succeeded":
        # The repository lives under /tmp here, and the sandbox's /tmp is private: the write
        # landed in a folder of that throwaway /tmp, never on the host (checked below). Outside
        # /tmp the same write fails with "Read-only file system".
        assert name in ("an ignored .env in the main checkout", "a tracked file written through ..")
    else:
        assert done.returncode == 1, done.stdout + done.stderr
        assert task["status"] == "failed"
    if task["status"] == "succeeded":
        pass
    elif sandbox == "bwrap" and BLOCKED in task["reason"]:
        # The kernel refused it: read-only, or (under /tmp) not even visible. The agent's own
        # words name it.
        assert task["reason"].startswith("the agent exited with status 3: blocked: ")
    else:
        assert named in task["reason"], task["reason"]
    assert _repository_state(project.root, isolated_environment) == before
    for marker in ("stolen-env", "fsmonitor-ran", "own-hook-ran", "filter-ran"):
        assert not (project.root.parent / marker).exists(), f"{marker}: a planted program ran"
    _assert_no_secret_anywhere(project, done)
    # The repository works for its user afterwards: their own commit runs no planted hook.
    git(project.root, "commit", "-q", "--allow-empty", "-m", "the user's own commit")
    assert not (project.root.parent / "stolen-env").exists()


def _assert_no_secret_anywhere(project: Project, done: subprocess.CompletedProcess[str]) -> None:
    assert SECRET not in done.stdout + done.stderr
    for path in (project.root / ".git" / "issuewave").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"the secret is in {path}"


@pytest.mark.parametrize("sandbox", ["none", "bwrap"])
def test_an_agent_rewriting_another_issues_verified_branch_fails_and_it_is_put_back(
    project: Project, sandbox: str
) -> None:
    project.add_issue(1, "First")
    project.add_issue(2, "Second, after the first", depends_on=[1])
    project.commit("two issues")
    source = _guarded(
        """
        if os.environ["ISSUEWAVE_ISSUE"] == "2":
            main = sh("git", "--git-dir", str(repo / ".git"), "rev-parse", "main").stdout.strip()
            sh("git", "--git-dir", str(repo / ".git"), "update-ref",
               "refs/heads/feature/issue-1", main)
        """
    )
    project.configure(agent_cmd=project.agent("rewriter", source), max_attempts=1,
                      sandbox=sandbox)  # fmt: skip

    done = project.cli("run", "--json")

    tasks = {t["number"]: t for t in json.loads(done.stdout)["issues"]}
    assert tasks[1]["status"] == "succeeded"
    assert tasks[2]["status"] == "failed"
    blocked = sandbox == "bwrap" and BLOCKED in tasks[2]["reason"]
    assert blocked or "branch feature/issue-1 moved" in tasks[2]["reason"]
    assert git(project.root, "show", "feature/issue-1:work/done.txt") == "done"


def test_an_honest_agent_in_its_private_clone_gets_its_work_back_on_the_branch(
    project: Project,
) -> None:
    project.add_issue(1, "Honest")
    project.commit("one issue")

    done = project.cli("run", "--json")

    (task,) = json.loads(done.stdout)["issues"]
    assert task["status"] == "succeeded", task
    workspace = project.root / ".worktrees" / "issue-1"
    assert (workspace / ".git").is_dir(), "a clone of its own, not a linked worktree"
    assert git(project.root, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert git(project.root, "show", "feature/issue-1:work/issue-1.txt") == "done 1"
    assert not list((workspace / ".git" / "hooks").iterdir())
    assert "[remote" not in (workspace / ".git" / "config").read_text()


STEAL_SECRET = """
for entry in pathlib.Path("/proc").iterdir():
    try:
        environ = (entry / "environ").read_bytes()
    except OSError:
        continue
    if b"ghp_" in environ:
        print("stolen:", environ.decode(errors="replace"))
        sys.exit(0)
raise OSError("no process with a token in its environment could be read")
"""


@pytest.mark.parametrize("sandbox", ["none", "bwrap"])
def test_an_agent_reading_the_orchestrators_environment_finds_no_secret(
    project: Project, sandbox: str
) -> None:
    """/proc/$PPID/environ, or any process's: the orchestrator is non-dumpable and, as root
    outside the sandbox, the attempt lacks the capabilities that override that; in the sandbox
    the orchestrator is not even visible."""
    project.add_issue(1, "Steal the token")
    project.commit("issue")
    agent = project.agent("thief", _guarded(STEAL_SECRET))
    project.configure(agent_cmd=agent, max_attempts=1, sandbox=sandbox)

    done = project.cli("run", "--json", env={"GITHUB_TOKEN": SECRET})

    (task,) = json.loads(done.stdout)["issues"]
    assert task["status"] == "failed"
    assert task["reason"].startswith("the agent exited with status 3: blocked: no process")
    _assert_no_secret_anywhere(project, done)


def _run_one(project: Project, script: str, **settings: object) -> subprocess.CompletedProcess[str]:
    """One issue, worked by an agent that does honest work and then `script`."""
    project.add_issue(1, "Honest work, then mischief")
    project.commit("issue")
    project.configure(agent_cmd=project.agent("mischief", _guarded(script)), **settings)
    return project.cli("run", "--json")


def _alive_with(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline:
            found.append(f"{entry.name}: {cmdline}")
    return found


@pytest.mark.parametrize("sandbox", ["none", "bwrap"])
def test_a_daemon_that_cleared_its_environment_and_called_setsid_dies_with_the_attempt(
    project: Project, sandbox: str
) -> None:
    marker = f"300.{sandbox == 'bwrap':d}4242"
    daemon = f"""
    subprocess.Popen(["setsid", "env", "-i", "sh", "-c", "trap '' TERM; exec sleep {marker}"],
                     start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    """
    done = _run_one(project, daemon, sandbox=sandbox)

    assert done.returncode in (0, 1), done.stderr
    assert _alive_with(marker) == []


@pytest.mark.parametrize("sandbox", ["none", "bwrap"])
def test_a_child_that_ignores_sigterm_dies_when_its_agent_times_out(
    project: Project, sandbox: str
) -> None:
    marker = f"300.{sandbox == 'bwrap':d}5151"
    stubborn = f"""
    subprocess.Popen(["sh", "-c", "trap '' TERM; exec sleep {marker}"])
    import time; time.sleep(300)
    """
    done = _run_one(project, stubborn, sandbox=sandbox, timeout=2, max_attempts=1)

    (task,) = json.loads(done.stdout)["issues"]
    assert task["status"] == "failed"
    assert task["reason"] == "the agent timed out after 2 s and was killed"
    assert _alive_with(marker) == []


def test_in_the_sandbox_the_hidden_acceptance_tests_are_out_of_reach(project: Project) -> None:
    project.write(".gitignore", ".issuewave/acceptance/\n")
    project.write(".issuewave/acceptance/1/checks/test_hidden.py", "assert 'hidden' == 'hidden'\n")
    project.add_issue(1, "Peek at the hidden tests")
    project.commit("issue")
    peek = """
    hidden = repo / ".issuewave" / "acceptance" / "1" / "checks" / "test_hidden.py"
    print("seen:", hidden.read_text())
    """
    project.configure(agent_cmd=project.agent("peek", _guarded(peek)), max_attempts=1,
                      sandbox="bwrap")  # fmt: skip

    done = project.cli("run", "--json")

    (task,) = json.loads(done.stdout)["issues"]
    assert task["status"] == "failed"
    assert task["reason"].startswith("the agent exited with status 3: blocked: ")
    outputs = list((project.root / ".git" / "issuewave").rglob("agent.out"))
    assert outputs and not any("seen:" in path.read_text() for path in outputs)


@pytest.mark.parametrize("exit_code", [0, 1])
def test_a_change_to_the_main_checkout_is_undone_even_when_the_agent_fails_anyway(
    project: Project, exit_code: int
) -> None:
    project.write(".gitignore", ".env\n")
    project.write(".env", "API=original\n")
    project.commit("ignore .env")
    script = f"""
    (repo / ".env").write_text("API=stolen\\n")
    sys.exit({exit_code})
    """
    done = _run_one(project, script, sandbox="none", max_attempts=1)

    (task,) = json.loads(done.stdout)["issues"]
    assert task["status"] == "failed"
    assert "file .env of the main checkout changed" in task["reason"]
    assert (project.root / ".env").read_text() == "API=original\n"
