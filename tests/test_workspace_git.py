"""Bases, backups, excludes and names on real repositories in temporary folders."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from conftest import git
from issuewave.errors import PrecheckError
from issuewave.git import Git, open_repository
from issuewave.issues import Issue
from issuewave.naming import branch_name, is_safe_ref_name, slug
from issuewave.types import BranchName, CommitSha, IssueNumber
from issuewave.workspace import (
    BACKUP_PREFIX,
    MergeConflict,
    backup_branch,
    create_worktree,
    ensure_excluded,
    fetch_back,
    is_workspace,
    merged_base,
    reopen_worktree,
    save_uncommitted,
)


def commit_file(root: Path, name: str, text: str, message: str | None = None) -> CommitSha:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    git(root, "add", name)
    git(root, "commit", "-q", "-m", message or f"write {name}")
    return CommitSha(git(root, "rev-parse", "HEAD"))


def branch_from_main(root: Path, branch: str, name: str, text: str) -> CommitSha:
    """A branch off main with one commit, made without leaving main checked out."""
    git(root, "switch", "-q", "-c", branch, "main")
    tip = commit_file(root, name, text)
    git(root, "switch", "-q", "main")
    return tip


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    commit_file(root, "shared.txt", "one\ntwo\nthree\n", "initial")
    return root


def show(root: Path, commit: str, path: str) -> str:
    return subprocess.run(
        ["git", "show", f"{commit}:{path}"], cwd=root, capture_output=True, text=True, check=True
    ).stdout


def checkout_state(root: Path) -> tuple[str, str, str]:
    return (
        git(root, "rev-parse", "HEAD"),
        git(root, "symbolic-ref", "HEAD"),
        git(root, "status", "--porcelain", "--untracked-files=all"),
    )


# --- merged_base ------------------------------------------------------------------------------
def test_merged_base_of_one_tip_is_the_tip(repo: Path) -> None:
    tip = branch_from_main(repo, "a", "a.txt", "a\n")
    assert merged_base(Git(repo), [("#1", tip)], "base") == tip


def test_merged_base_of_two_branches_merges_without_touching_a_checkout(repo: Path) -> None:
    a = branch_from_main(repo, "a", "a.txt", "from a\n")
    b = branch_from_main(repo, "b", "b.txt", "from b\n")
    (repo / "untracked.txt").write_text("user's work in progress\n")
    before = checkout_state(repo)

    base = merged_base(Git(repo), [("#1", a), ("#2", b)], "issuewave: base for #3")

    assert checkout_state(repo) == before
    assert git(repo, "rev-parse", f"{base}^1", f"{base}^2").split() == [a, b]
    assert git(repo, "log", "-1", "--format=%s", base) == "issuewave: base for #3"
    assert show(repo, base, "a.txt") == "from a\n"
    assert show(repo, base, "b.txt") == "from b\n"
    assert show(repo, base, "shared.txt") == "one\ntwo\nthree\n"


def test_merged_base_of_three_branches_contains_all_of_them(repo: Path) -> None:
    tips = [(f"#{i}", branch_from_main(repo, f"b{i}", f"f{i}.txt", f"{i}\n")) for i in (1, 2, 3)]
    base = merged_base(Git(repo), tips, "base")
    for i in (1, 2, 3):
        assert show(repo, base, f"f{i}.txt") == f"{i}\n"
    for _, tip in tips:
        assert Git(repo).is_ancestor(tip, base)


def test_merged_base_merges_different_lines_of_one_file(repo: Path) -> None:
    a = branch_from_main(repo, "a", "shared.txt", "ONE\ntwo\nthree\n")
    b = branch_from_main(repo, "b", "shared.txt", "one\ntwo\nTHREE\n")
    base = merged_base(Git(repo), [("#1", a), ("#2", b)], "base")
    assert show(repo, base, "shared.txt") == "ONE\ntwo\nTHREE\n"


def test_merged_base_of_conflicting_branches_names_the_file(repo: Path) -> None:
    a = branch_from_main(repo, "a", "shared.txt", "one\nTWO from a\nthree\n")
    b = branch_from_main(repo, "b", "shared.txt", "one\nTWO from b\nthree\n")
    before = checkout_state(repo)
    refs_before = git(repo, "for-each-ref")

    with pytest.raises(MergeConflict) as caught:
        merged_base(Git(repo), [("#1", a), ("#2", b)], "base")

    assert caught.value.files == ("shared.txt",)
    assert "shared.txt" in caught.value.message
    assert "#1" in caught.value.message and "#2" in caught.value.message
    assert checkout_state(repo) == before
    assert git(repo, "for-each-ref") == refs_before


@pytest.mark.parametrize("order", ["ancestor-first", "ancestor-last"])
def test_merged_base_skips_a_tip_that_is_an_ancestor(repo: Path, order: str) -> None:
    older = branch_from_main(repo, "a", "a.txt", "a\n")
    git(repo, "switch", "-q", "-c", "a2", "a")
    newer = commit_file(repo, "a.txt", "a, later\n")
    git(repo, "switch", "-q", "main")
    tips = [("#1", older), ("#2", newer)]
    if order == "ancestor-last":
        tips.reverse()
    # No merge commit: the newer tip already contains the older one.
    assert merged_base(Git(repo), tips, "base") == newer


# --- backups ----------------------------------------------------------------------------------
def test_backup_branch_saves_the_tip_under_the_backup_prefix(repo: Path) -> None:
    tip = branch_from_main(repo, "feature/issue-7", "x.txt", "x\n")
    saved = backup_branch(Git(repo), "feature/issue-7")
    assert saved is not None
    ref, sha = saved
    assert sha == tip
    assert re.fullmatch(rf"{BACKUP_PREFIX}/feature/issue-7/\d{{8}}T\d{{6}}-\d{{9}}", ref)
    assert ref.startswith("refs/issuewave/backup/feature/issue-7/")
    assert git(repo, "rev-parse", ref) == tip
    # The branch itself is untouched.
    assert git(repo, "rev-parse", "refs/heads/feature/issue-7") == tip


def test_two_backups_of_one_branch_do_not_overwrite_each_other(repo: Path) -> None:
    first_tip = branch_from_main(repo, "b", "x.txt", "1\n")
    first = backup_branch(Git(repo), "b")
    git(repo, "switch", "-q", "b")
    second_tip = commit_file(repo, "x.txt", "2\n")
    second = backup_branch(Git(repo), "b")
    assert first is not None and second is not None
    assert first[0] != second[0]
    assert git(repo, "rev-parse", first[0]) == first_tip
    assert git(repo, "rev-parse", second[0]) == second_tip


def test_backup_of_a_missing_branch_is_none(repo: Path) -> None:
    assert backup_branch(Git(repo), "no-such-branch") is None
    assert git(repo, "for-each-ref", "refs/issuewave/") == ""


# --- excludes ---------------------------------------------------------------------------------
def test_ensure_excluded_adds_the_worktrees_folder_once(repo: Path) -> None:
    exclude = repo / ".git" / "info" / "exclude"
    exclude.write_text("# user's own excludes\n*.swp")  # no trailing newline
    folder = repo / ".worktrees"
    ensure_excluded(Git(repo), repo.resolve(), folder)
    ensure_excluded(Git(repo), repo.resolve(), folder)

    lines = exclude.read_text().splitlines()
    assert lines.count("/.worktrees/") == 1
    assert "*.swp" in lines  # the user's line kept intact
    (folder / "issue-1").mkdir(parents=True)
    (folder / "issue-1" / "file.txt").write_text("x\n")
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_ensure_excluded_creates_a_missing_exclude_file(repo: Path) -> None:
    exclude = repo / ".git" / "info" / "exclude"
    exclude.unlink()
    ensure_excluded(Git(repo), repo.resolve(), repo / "build" / "wt")
    assert "/build/wt/" in exclude.read_text().splitlines()


def test_ensure_excluded_ignores_a_folder_outside_the_repository(
    repo: Path, tmp_path: Path
) -> None:
    exclude = repo / ".git" / "info" / "exclude"
    before = exclude.read_text()
    ensure_excluded(Git(repo), repo.resolve(), tmp_path / "elsewhere")
    assert exclude.read_text() == before


# --- opening the repository -------------------------------------------------------------------
def test_open_repository_from_a_worktree_returns_the_main_checkout(
    repo: Path, tmp_path: Path
) -> None:
    worktree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "side", str(worktree))
    (worktree / "sub").mkdir()
    for start in (worktree, worktree / "sub", repo):
        assert open_repository(start).cwd == repo.resolve()


def test_open_repository_from_a_subfolder_returns_the_top(repo: Path) -> None:
    (repo / "deep" / "er").mkdir(parents=True)
    assert open_repository(repo / "deep" / "er").cwd == repo.resolve()


def test_open_repository_refuses_a_non_repository(tmp_path: Path) -> None:
    with pytest.raises(PrecheckError, match="not a git repository"):
        open_repository(tmp_path)


def test_open_repository_refuses_an_empty_repository(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    with pytest.raises(PrecheckError, match="no commits yet"):
        open_repository(tmp_path)


def test_open_repository_refuses_a_bare_repository(tmp_path: Path, repo: Path) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(bare))
    with pytest.raises(PrecheckError, match="bare repository"):
        open_repository(bare)


# --- default branch ---------------------------------------------------------------------------
def test_default_branch_prefers_origin_head(repo: Path, tmp_path: Path) -> None:
    git(repo, "branch", "develop")
    git(repo, "symbolic-ref", "HEAD", "refs/heads/develop")  # upstream's default is develop
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "switch", "-q", "-c", "my-topic")
    assert git(clone, "symbolic-ref", "refs/remotes/origin/HEAD") == "refs/remotes/origin/develop"
    assert Git(clone).default_branch() == "develop"


def test_default_branch_keeps_slashes_of_origin_head(repo: Path) -> None:
    git(repo, "update-ref", "refs/remotes/origin/release/2.x", "HEAD")
    git(repo, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/release/2.x")
    assert Git(repo).default_branch() == "release/2.x"


def test_default_branch_without_origin_is_the_checked_out_branch(repo: Path) -> None:
    git(repo, "switch", "-q", "-c", "trunk")
    assert Git(repo).default_branch() == "trunk"
    git(repo, "switch", "-q", "--detach")
    assert Git(repo).default_branch() == "main"


# --- names from hostile titles ----------------------------------------------------------------
HOSTILE_TITLES = [
    "Fix the `login` bug",
    "$(rm -rf ~) && echo pwned",
    "'; DROP TABLE issues; --",
    "../../etc/passwd",
    "refs/heads/main..HEAD@{1}",
    "branch.lock",
    "-rf --force",
    ".hidden/.. trailing dot.",
    "tab\tnew\nline\rcarriage",
    "~^:?*[\\ control \x00\x01\x7f",
    "🚀🔥💥",
    "名前 と 日本語",
    "Ünïcödé café naïve",
    "",
    "   ",
    "-",
    "@",
    "a" * 500,
    "word " * 100,
    "x/" * 30,
]
PATTERNS = ["feature/issue-{number}", "issue/{number}-{slug}", "{slug}/{number}", "{number}"]


def git_accepts_branch(cwd: Path, name: str) -> bool:
    done = subprocess.run(
        ["git", "check-ref-format", "--branch", name], cwd=cwd, capture_output=True, check=False
    )
    return done.returncode == 0


@pytest.mark.parametrize("title", HOSTILE_TITLES, ids=range(len(HOSTILE_TITLES)))
def test_slug_is_short_plain_ascii_and_never_empty(title: str) -> None:
    made = slug(title)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", made), made
    assert len(made) <= 40


def test_slug_keeps_words_readable() -> None:
    assert slug("Fix the `login` bug!") == "fix-the-login-bug"
    assert slug("Ünïcödé café") == "unicode-cafe"
    assert slug("🚀") == "issue"


def test_branch_names_from_hostile_titles_are_valid_for_git(tmp_path: Path) -> None:
    names = set()
    for number, title in enumerate(HOSTILE_TITLES, start=1):
        issue = Issue(number=IssueNumber(number), title=title)
        for pattern in PATTERNS:
            name = branch_name(pattern, issue)
            assert git_accepts_branch(tmp_path, name), (pattern, title, name)
            assert str(number) in name
            names.add(name)
    # {number} in every pattern keeps every issue's branch distinct.
    assert len(names) == len(HOSTILE_TITLES) * len(PATTERNS)


@pytest.mark.parametrize(
    "name",
    [
        "a..b",
        "a b",
        "a~1",
        "a^",
        "a:b",
        "a?",
        "a*",
        "a[b",
        "a\\b",
        "a@{b",
        "-a",
        "/a",
        "a/",
        "a.",
        "a.lock",
        "a/.b",
        "a//b",
        "a/b.lock/c",
        "",
        "a\x7fb",
    ],
)
def test_is_safe_ref_name_rejects_what_git_rejects(tmp_path: Path, name: str) -> None:
    assert not git_accepts_branch(tmp_path, name)
    assert not is_safe_ref_name(name)


def test_a_pattern_that_makes_an_invalid_name_is_refused() -> None:
    issue = Issue(number=IssueNumber(3), title="x")
    with pytest.raises(ValueError, match="invalid branch name"):
        branch_name("feature..{number}", issue)


def test_a_workspace_is_a_private_clone_whose_git_state_never_reaches_the_repository(
    repo: Path,
) -> None:
    main = Git(repo)
    base = main.must_rev("main")
    path = repo / ".worktrees" / "issue-1"
    create_worktree(main, path, BranchName("feature/issue-1"), base)
    assert is_workspace(path) and git(path, "rev-parse", "HEAD") == base
    git(path, "tag", "its-own")  # its refs are its own
    git(path, "config", "core.fsmonitor", "echo planted")
    assert git(repo, "tag", "--list") == "" and "fsmonitor" not in git(repo, "config", "--list")
    commit_file(path, "work.txt", "done\n")

    tip = fetch_back(main, path, BranchName("feature/issue-1"))

    assert git(repo, "rev-parse", "feature/issue-1") == tip != base
    assert show(repo, tip, "work.txt") == "done\n"


def test_a_linked_worktree_of_an_older_issuewave_becomes_a_clone_keeping_its_work(
    repo: Path,
) -> None:
    path = repo / ".worktrees" / "issue-2"
    git(repo, "worktree", "add", "-q", "-b", "feature/issue-2", str(path), "main")
    (path / "unsaved.txt").write_text("not committed\n")
    main = Git(repo)

    reopen_worktree(main, path, BranchName("feature/issue-2"), main.must_rev("main"))

    assert is_workspace(path) and git(repo, "worktree", "list").count("\n") == 0
    assert show(repo, "feature/issue-2", "unsaved.txt") == "not committed\n"
    (path / "more.txt").write_text("later\n")
    saved = save_uncommitted(main, path, "saved")
    assert saved == git(repo, "rev-parse", "feature/issue-2")
    assert show(repo, "feature/issue-2", "more.txt") == "later\n"
