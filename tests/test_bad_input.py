"""Bad input, end to end: real git repositories, real `python -m issuewave` processes, no mocks.

Each test checks what a user relies on when something is wrong: the exit code (1 for a failed
pre-check, 2 for bad input), a message on stderr that names what was wrong (and the next step where
the product gives one), and that nothing was created or lost on the way: no `feature/*` branch, no
worktree, no `.worktrees/` folder and no run in the state store.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Project, git, issue_file, run_cli, seed_issues

FAST = {"AGENT_SLEEP": "0.05"}


# --- what a failed command must leave behind: nothing ----------------------------------------
def feature_branches(root: Path) -> list[str]:
    """Every local branch under feature/ (both branch patterns used here start with it)."""
    listed = git(root, "branch", "--list", "--format=%(refname:short)", "feature/*")
    return listed.splitlines()


def worktree_paths(root: Path) -> list[Path]:
    porcelain = git(root, "worktree", "list", "--porcelain")
    return [
        Path(line.removeprefix("worktree ")).resolve()
        for line in porcelain.splitlines()
        if line.startswith("worktree ")
    ]


def store_rows(git_dir: Path, table: str) -> int:
    """Rows of one table of the state store; 0 when the store was never created."""
    database = git_dir / "issuewave" / "state.db"
    if not database.exists():
        return 0
    with contextlib.closing(sqlite3.connect(database)) as db:
        count: int = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return count


def assert_nothing_created(
    root: Path, *, branches: list[str] | None = None, worktree_folder: bool = False
) -> None:
    assert feature_branches(root) == (branches or [])
    assert worktree_paths(root) == [root.resolve()], "only the main checkout is a worktree"
    if not worktree_folder:
        assert not (root / ".worktrees").exists()
    assert store_rows(root / ".git", "runs") == 0
    assert store_rows(root / ".git", "tasks") == 0
    assert store_rows(root / ".git", "pull_requests") == 0


def error_of(done: subprocess.CompletedProcess[str]) -> str:
    """stderr, after checking that it is a message and not a crash."""
    assert not done.stderr.startswith("Traceback"), done.stderr
    assert "issuewave: internal error" not in done.stderr, done.stderr
    assert re.search(r"^issuewave: \S", done.stderr, re.M), done.stderr
    return done.stderr


def run_fast(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    return project.cli("run", "--plain", *args, env=FAST)


def pull_titles(project: Project) -> dict[int, str]:
    done = project.cli("prs", "--json")
    assert done.returncode == 0, done.stderr
    return {record["issue"]: record["title"] for record in json.loads(done.stdout)}


def two_issues(project: Project) -> None:
    project.add_issue(1, "Add a parser")
    project.add_issue(2, "Add a printer", depends_on=[1])
    project.commit("issues")


# --- the repository itself ---------------------------------------------------------------------
@pytest.mark.parametrize("command", ["run", "plan"])
def test_not_a_git_repository(tmp_path: Path, command: str) -> None:
    folder = tmp_path / "plain"
    (folder / ".issuewave" / "issues").mkdir(parents=True)
    (folder / ".issuewave" / "issues" / "001.md").write_text(issue_file(1, "Add a parser"))
    # Keep git from finding a repository above tmp_path, whatever the machine has there.
    done = run_cli(folder, command, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert done.returncode == 1
    stderr = error_of(done)
    assert f"{folder} is not a git repository" in stderr
    assert "run issuewave inside a git repository" in stderr
    assert sorted(p.name for p in folder.iterdir()) == [".issuewave"], "nothing created"


def test_bare_repository(project: Project, tmp_path: Path) -> None:
    two_issues(project)
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(project.root), str(bare))
    before = git(bare, "for-each-ref")
    done = run_cli(bare, "run", env=FAST)
    assert done.returncode == 1
    stderr = error_of(done)
    assert f"{bare} is a bare repository" in stderr
    assert "git clone" in stderr  # the next step
    assert git(bare, "for-each-ref") == before
    assert git(bare, "branch", "--list", "feature/*") == ""
    assert not (bare / "issuewave").exists(), "no state store"
    assert not (bare / "worktrees").exists()
    assert not (bare / ".worktrees").exists()


def test_repository_without_commits(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / ".issuewave" / "issues").mkdir(parents=True)
    (root / ".issuewave" / "issues" / "001.md").write_text(issue_file(1, "Add a parser"))
    (root / ".issuewave.toml").write_text(f'test_cmd = "{sys.executable} -c pass"\n')
    done = run_cli(root, "run", env=FAST)
    assert done.returncode == 1
    stderr = error_of(done)
    assert f"the repository at {root} has no commits yet" in stderr
    assert "git commit" in stderr  # the next step
    assert git(root, "for-each-ref") == "", "no branch, no ref"
    assert worktree_paths(root) == [root.resolve()]
    assert not (root / ".worktrees").exists()
    assert not (root / ".git" / "issuewave").exists(), "no state store"


def test_dirty_main_checkout_is_left_alone(project: Project) -> None:
    project.write("notes.txt", "committed\n")
    two_issues(project)
    (project.root / "notes.txt").write_text("my unsaved edit\n")
    (project.root / "draft.txt").write_text("not even added\n")
    status_before = git(project.root, "status", "--porcelain")
    assert status_before == "M notes.txt\n?? draft.txt"  # git() strips the leading space

    done = run_fast(project)
    assert done.returncode == 0, done.stderr
    assert "uncommitted changes" in done.stderr
    assert "left alone" in done.stderr
    assert (project.root / "notes.txt").read_text() == "my unsaved edit\n"
    assert (project.root / "draft.txt").read_text() == "not even added\n"
    assert git(project.root, "status", "--porcelain") == status_before, "still uncommitted"
    # The issues started from the committed base, not from the edits.
    assert feature_branches(project.root) == ["feature/issue-1", "feature/issue-2"]
    for branch in feature_branches(project.root):
        assert git(project.root, "show", f"{branch}:notes.txt") == "committed"
        names = git(project.root, "ls-tree", "-r", "--name-only", branch).splitlines()
        assert "draft.txt" not in names


# --- branches and folders that are in the way --------------------------------------------------
def test_existing_branch_not_made_by_issuewave(project: Project) -> None:
    two_issues(project)
    git(project.root, "switch", "-q", "-c", "feature/issue-1")
    project.write("mine.txt", "someone's own work\n")
    project.commit("someone's own work")
    git(project.root, "switch", "-q", "main")
    tip = git(project.root, "rev-parse", "feature/issue-1")

    done = run_fast(project)
    assert done.returncode == 1
    stderr = error_of(done)
    assert "branch feature/issue-1 already exists and was not made by issuewave" in stderr
    assert "choose another branch pattern (--branch)" in stderr  # a next step
    assert_nothing_created(project.root, branches=["feature/issue-1"])
    assert git(project.root, "rev-parse", "feature/issue-1") == tip, "the branch is untouched"
    assert project.events() == [], "no agent ran"

    # The other next step offered works: another branch pattern, and the branch stays as it was.
    done = run_fast(project, "--branch", "feature/{number}-{slug}")
    assert done.returncode == 0, done.stderr
    assert feature_branches(project.root) == [
        "feature/1-add-a-parser",
        "feature/2-add-a-printer",
        "feature/issue-1",
    ]
    assert git(project.root, "rev-parse", "feature/issue-1") == tip


def test_existing_branch_hint_rollback_works(project: Project) -> None:
    two_issues(project)
    git(project.root, "branch", "feature/issue-1")
    tip = git(project.root, "rev-parse", "feature/issue-1")
    done = run_fast(project)
    assert done.returncode == 1
    assert "`issuewave rollback 1` saves and removes it" in error_of(done)

    rollback = project.cli("rollback", "1")
    assert rollback.returncode == 0, rollback.stderr
    assert feature_branches(project.root) == []
    backups = git(project.root, "for-each-ref", "--format=%(objectname)", "refs/issuewave/backup/")
    assert backups == tip, "the branch was saved before it was removed"


def test_existing_worktree_folder(project: Project) -> None:
    two_issues(project)
    folder = project.root / ".worktrees" / "issue-1"
    folder.mkdir(parents=True)
    (folder / "keep.txt").write_text("precious\n")

    done = run_fast(project)
    assert done.returncode == 1
    stderr = error_of(done)
    assert f"the worktree folder {folder} already exists" in stderr
    assert "worktree_dir" in stderr  # the next step
    assert_nothing_created(project.root, worktree_folder=True)
    assert [p.name for p in (project.root / ".worktrees").iterdir()] == ["issue-1"]
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]
    assert (folder / "keep.txt").read_text() == "precious\n", "nothing lost"
    assert project.events() == []


# --- programs that do not exist ----------------------------------------------------------------
@pytest.mark.parametrize("where", ["file", "flag"])
@pytest.mark.parametrize("program", ["no-such-agent-7f3c", "tools/no-such-agent.sh"])
def test_missing_agent_program(project: Project, program: str, where: str) -> None:
    two_issues(project)
    if where == "file":
        project.configure(agent_cmd=f"{program} --issue {{issue}}")
        done = run_fast(project)
    else:
        done = run_fast(project, "--agent-cmd", f"{program} --issue {{issue}}")
    assert done.returncode == 1
    stderr = error_of(done)
    assert f"the agent program {program!r} was not found" in stderr
    assert "agent_cmd" in stderr  # the next step
    assert_nothing_created(project.root)


@pytest.mark.parametrize("program", ["no-such-test-runner-7f3c", "bin/no-such-tests"])
def test_missing_test_program(project: Project, program: str) -> None:
    two_issues(project)
    project.configure(test_cmd=f"{program} -q")
    done = run_fast(project)
    assert done.returncode == 1
    stderr = error_of(done)
    assert f"the test command's program {program!r} was not found" in stderr
    assert "test_cmd" in stderr  # the next step
    assert_nothing_created(project.root)
    assert project.events() == []


# --- tests that fail before any agent ran ------------------------------------------------------
def failing_baseline(project: Project) -> None:
    project.write("checks/test_broken.py", "assert False, 'broken on main'\n")
    two_issues(project)


def test_failing_baseline_stops_the_run(project: Project) -> None:
    failing_baseline(project)
    done = run_fast(project)
    assert done.returncode == 1
    stderr = error_of(done)
    assert "the test command fails on the base branch before any agent ran (exited 1)" in stderr
    assert "FAILED checks/test_broken.py" in stderr, "the test output is shown"
    assert "--allow-failing-baseline" in stderr  # the next step
    assert_nothing_created(project.root)  # the baseline's throwaway worktree is gone too
    assert project.events() == []


def test_failing_baseline_allowed(project: Project) -> None:
    failing_baseline(project)
    done = run_fast(project, "--allow-failing-baseline")
    assert done.returncode == 0, done.stderr
    assert "the tests fail on the base branch (1 known failures)" in done.stderr
    assert feature_branches(project.root) == ["feature/issue-1", "feature/issue-2"]
    assert sorted(pull_titles(project)) == [1, 2]


# --- titles that are hostile to shells and to git ----------------------------------------------
@pytest.mark.parametrize("pattern", [None, "feature/{number}-{slug}"])
def test_hostile_titles(
    project: Project, tmp_path: Path, isolated_environment: Path, pattern: str | None
) -> None:
    dollar = tmp_path / "pwned-dollar"
    backtick = tmp_path / "pwned-backtick"
    semicolon = tmp_path / "pwned-semicolon"
    canary = isolated_environment / "canary.txt"  # HOME is a temporary folder
    canary.write_text("still here\n")
    long_title = ("Make the very long title survive " * 20)[:500]
    titles = {
        1: f"$(touch {dollar})",
        2: f"Run `touch {backtick}` now",
        3: f"; rm -rf ~; touch {semicolon}",
        4: "\"quotes\" and 'single' ones",
        5: "first line\nsecond line",  # the file holds YAML's "\n" escape
        6: "Rocket 🚀 launch ✨ naïve café",
        7: long_title,
    }
    assert len(titles[7]) == 500
    for number, title in titles.items():
        # UTF-8 as an editor writes it (conftest's helper escapes 🚀 as a surrogate pair).
        quoted = json.dumps(title, ensure_ascii=False)
        project.write(
            f".issuewave/issues/{number:03d}.md", f"---\nnumber: {number}\ntitle: {quoted}\n---\n"
        )
    project.commit("hostile titles")
    assert '"first line\\nsecond line"' in (project.root / ".issuewave/issues/005.md").read_text()

    args = ("--branch", pattern) if pattern else ()
    done = run_fast(project, "--jobs", "4", *args)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr

    for marker in (dollar, backtick, semicolon):
        assert not marker.exists(), f"a title was run by a shell: {marker}"
    assert canary.read_text() == "still here\n"
    assert not list(tmp_path.glob("pwned*"))

    branches = feature_branches(project.root)
    assert len(branches) == len(titles)
    for branch in branches:
        assert branch.isascii(), branch
        git(project.root, "check-ref-format", "--branch", branch)  # raises if git refuses it
    if pattern is None:
        assert branches == sorted(f"feature/issue-{n}" for n in titles)
    else:
        numbers = []
        for branch in branches:
            match = re.fullmatch(r"feature/(\d+)-([a-z0-9]+(?:-[a-z0-9]+)*)", branch)
            assert match, branch
            assert len(match.group(2)) <= 40
            numbers.append(int(match.group(1)))
        assert sorted(numbers) == sorted(titles)

    pulled = pull_titles(project)
    assert sorted(pulled) == sorted(titles)
    for number in (1, 2, 3, 4, 6):
        assert pulled[number] == titles[number], "the text is kept as it was"
    assert pulled[5] == "first line second line", "one line, both halves kept"
    # A PR title is cut at 200 characters; what is kept is the title's own text.
    assert 150 <= len(pulled[7]) <= 200
    assert pulled[7].endswith("…")
    assert long_title.startswith(pulled[7].removesuffix("…"))
    # The commit subject keeps the text too.
    head = "feature/issue-1" if pattern is None else next(b for b in branches if "/1-" in b)
    assert git(project.root, "log", "-1", "--format=%s", head) == f"feat: {titles[1]} (#1)"


# --- issue files that cannot be read -----------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("---\nnumber: 4\ntitle: Parse: the config\n---\nbody\n", 3, "malformed YAML"),
        ("---\nnumber: 4\ntitle: ok\nlabels: [a, b\nstate: open\n---\n", 5, "malformed YAML"),
        ("---\nnumber: 4\ntitle: ok\npriority: high\n---\n", 4, "unknown key 'priority'"),
        ("---\nnumber: four\ntitle: ok\n---\n", 2, "'number' must be a positive whole number"),
        ("number: 4\ntitle: ok\n", 1, "no front matter"),
    ],
)
def test_malformed_front_matter(project: Project, text: str, line: int, what: str) -> None:
    two_issues(project)
    path = project.write(".issuewave/issues/004.md", text)
    for command in ("run", "plan"):
        done = project.cli(command, env=FAST)
        assert done.returncode == 2, (command, done.stderr)
        stderr = error_of(done)
        assert f"{path}:{line}: " in stderr, "names the file and the line"
        assert what in stderr
    assert_nothing_created(project.root)


def test_front_matter_never_closed(project: Project) -> None:
    two_issues(project)
    path = project.write(".issuewave/issues/004.md", "---\nnumber: 4\ntitle: ok\n\nThe body.\n")
    done = run_fast(project)
    assert done.returncode == 2
    stderr = error_of(done)
    assert f"{path}: the front matter opened on line 1 is never closed by a '---' line" in stderr
    assert_nothing_created(project.root)


def test_duplicate_issue_numbers(project: Project) -> None:
    two_issues(project)
    first = project.root / ".issuewave/issues/001.md"
    second = project.write(".issuewave/issues/parser-again.md", issue_file(1, "Parser, again"))
    done = run_fast(project)
    assert done.returncode == 2
    stderr = error_of(done)
    assert "issue #1 is defined twice" in stderr
    assert str(first) in stderr
    assert str(second) in stderr
    assert_nothing_created(project.root)


# --- dependency graphs that cannot be planned --------------------------------------------------
def test_dependency_cycle(project: Project) -> None:
    project.add_issue(1, "Independent work")
    project.add_issue(3, "Needs five", depends_on=[5])
    project.add_issue(5, "Needs three", body="Depends on #3")
    project.commit("a cycle")
    for command in ("run", "plan"):
        done = project.cli(command, env=FAST)
        assert done.returncode == 2, (command, done.stderr)
        stderr = error_of(done)
        assert "dependency cycle: #3 → #5 → #3" in stderr
        assert "remove one of these dependencies" in stderr  # the next step
    assert_nothing_created(project.root)
    assert project.events() == []


def test_self_dependency(project: Project) -> None:
    project.add_issue(1, "Independent work")
    project.add_issue(4, "Needs itself", depends_on=[4])
    project.commit("a self-dependency")
    done = run_fast(project)
    assert done.returncode == 2
    assert "issue #4 depends on itself" in error_of(done)
    assert_nothing_created(project.root)


def test_missing_dependency(project: Project) -> None:
    project.add_issue(1, "Add a parser")
    project.add_issue(2, "Add a printer", depends_on=[1, 99])
    project.commit("a dangling reference")
    done = run_fast(project)
    assert done.returncode == 2
    stderr = error_of(done)
    assert "#2 depends on #99, which does not exist" in stderr
    assert "--ignore-missing" in stderr  # the next step
    assert_nothing_created(project.root)


def test_missing_dependency_ignored(project: Project) -> None:
    project.add_issue(1, "Add a parser")
    project.add_issue(2, "Add a printer", depends_on=[1, 99])
    project.commit("a dangling reference")
    done = run_fast(project, "--ignore-missing")
    assert done.returncode == 0, done.stderr
    assert feature_branches(project.root) == ["feature/issue-1", "feature/issue-2"]
    assert sorted(pull_titles(project)) == [1, 2]


# --- nothing to do ------------------------------------------------------------------------------
def test_only_closed_issues(project: Project) -> None:
    project.add_issue(1, "Done already", state="closed")
    project.add_issue(2, "Also done", state="closed")
    project.commit("closed issues")
    done = run_fast(project)
    assert done.returncode == 0
    assert "nothing to do: no open issues in .issuewave/issues" in done.stderr
    assert_nothing_created(project.root)


def test_empty_issues_folder(project: Project) -> None:
    (project.root / ".issuewave" / "issues").mkdir(parents=True)
    done = run_fast(project)
    assert done.returncode == 0
    assert "nothing to do: no open issues in .issuewave/issues" in done.stderr
    plan = project.cli("plan")
    assert plan.returncode == 0
    assert "nothing to do" in plan.stdout
    assert_nothing_created(project.root)


def test_no_issues_folder(project: Project) -> None:
    done = run_fast(project)
    assert done.returncode == 2
    stderr = error_of(done)
    assert f"issues folder {project.root / '.issuewave/issues'} does not exist" in stderr
    assert "mkdir -p" in stderr  # the next step
    assert_nothing_created(project.root)


# --- configuration ------------------------------------------------------------------------------
def test_config_unknown_key(project: Project) -> None:
    two_issues(project)
    project.configure(colour="red")
    done = run_fast(project)
    assert done.returncode == 2
    stderr = error_of(done)
    assert f"unknown key 'colour' in {project.root / '.issuewave.toml'}" in stderr
    assert "known keys:" in stderr
    assert_nothing_created(project.root)


def test_config_wrong_type(project: Project) -> None:
    two_issues(project)
    project.configure(jobs="four")
    done = run_fast(project)
    assert done.returncode == 2
    stderr = error_of(done)
    assert f"bad value for 'jobs' in {project.root / '.issuewave.toml'}" in stderr
    assert "'four'" in stderr
    assert_nothing_created(project.root)


def test_config_not_toml(project: Project) -> None:
    two_issues(project)
    project.write(".issuewave.toml", "jobs = \n")
    done = run_fast(project)
    assert done.returncode == 2
    stderr = error_of(done)
    assert f"{project.root / '.issuewave.toml'}: not valid TOML" in stderr
    assert_nothing_created(project.root)


def test_cli_jobs_zero(project: Project) -> None:
    two_issues(project)
    done = run_fast(project, "--jobs", "0")
    assert done.returncode == 2
    stderr = error_of(done)
    assert "bad value for 'jobs' in the command line" in stderr
    assert "(got 0)" in stderr
    assert_nothing_created(project.root)


# --- the seed scenario --------------------------------------------------------------------------
def test_plan_json_seed_scenario(project: Project) -> None:
    seed_issues(project)
    done = project.cli("plan", "--json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["waves"] == [[152, 154], [155]]
    assert {i["number"]: i["branch"] for i in plan["issues"]} == {
        152: "feature/issue-152",
        154: "feature/issue-154",
        155: "feature/issue-155",
    }
    assert_nothing_created(project.root)
