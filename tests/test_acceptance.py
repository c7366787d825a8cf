"""Hidden acceptance tests: where they are found, when they are refused, how they are laid over a
checkout. The whole round (an attempt rejected, the next one told nothing) is in
test_tests_policy.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Project, git
from issuewave import acceptance
from issuewave.errors import InputError
from issuewave.issues import Issue
from issuewave.types import IssueNumber


def test_an_issue_file_may_name_its_own_folder(project: Project) -> None:
    project.write(
        ".issuewave/issues/003.md",
        "---\nnumber: 3\ntitle: Export\nacceptance: qa/hidden-3\n---\nExport notes.\n",
    )
    project.commit("issue")
    project.write("qa/hidden-3/tests/test_export_accept.py", "def test_x(): pass\n")
    project.write("qa/hidden-3/tests/data/expected.json", "{}\n")
    planned = project.cli("plan")
    assert planned.returncode == 0, planned.stderr
    assert "#3 has hidden acceptance tests: 2 files in qa/hidden-3/" in planned.stdout
    assert "test_export_accept" not in planned.stdout  # how many, never which


@pytest.mark.parametrize("folder", ["/etc", "../elsewhere", "qa/../../up"])
def test_a_folder_outside_the_repository_is_bad_input(project: Project, folder: str) -> None:
    project.write(
        ".issuewave/issues/003.md", f"---\nnumber: 3\ntitle: T\nacceptance: {folder}\n---\n"
    )
    done = project.cli("plan")
    assert done.returncode == 2
    assert "003.md:4: 'acceptance' must be a folder relative to the repository root" in done.stderr


def test_a_named_folder_that_does_not_exist_is_bad_input(tmp_path: Path) -> None:
    issue = Issue(IssueNumber(3), "T", acceptance="qa/missing", source="003.md")
    with pytest.raises(InputError, match=r"003\.md: acceptance: 'qa/missing' is not a folder"):
        acceptance.folders_of(tmp_path, [issue])


def test_hidden_tests_in_the_base_commit_are_refused_even_once_untracked(project: Project) -> None:
    """Dropped from the index but still in the base branch's commit: an agent's checkout of
    that commit has them."""
    project.add_issue(1, "One")
    project.write(".issuewave/acceptance/1/test_secret.py", "def test_s(): pass\n")
    project.commit("issue and, by mistake, its hidden test")
    git(project.root, "rm", "-r", "-q", "--cached", ".issuewave/acceptance")
    done = project.cli("plan")
    assert done.returncode == 2
    assert "the hidden acceptance tests in .issuewave/acceptance/ are tracked" in done.stderr
    git(project.root, "commit", "-q", "-m", "untrack the hidden tests")
    assert project.cli("plan").returncode == 0


def test_laying_over_replaces_links_the_tested_code_planted(tmp_path: Path) -> None:
    hidden, checkout, outside = tmp_path / "hidden", tmp_path / "checkout", tmp_path / "outside"
    (hidden / "tests").mkdir(parents=True)
    (hidden / "tests" / "test_accept.py").write_text("secret\n")
    (hidden / "top.py").write_text("top\n")
    (hidden / ".git").mkdir()
    (hidden / ".git" / "config").write_text("never copied\n")
    checkout.mkdir()
    outside.mkdir()
    (checkout / "tests").symlink_to(outside)  # the head's tree made tests/ point outside
    (checkout / "top.py").symlink_to(outside / "stolen.py")
    assert acceptance.lay_over(hidden, checkout) == 2
    assert list(outside.iterdir()) == []  # nothing written through a link
    assert (checkout / "tests" / "test_accept.py").read_text() == "secret\n"
    assert not (checkout / "tests").is_symlink() and (checkout / "top.py").read_text() == "top\n"
    assert not (checkout / ".git").exists()


def test_the_folders_to_hide_and_each_issues_folder(tmp_path: Path) -> None:
    root = tmp_path
    assert acceptance.acceptance_root(root) == root / ".issuewave" / "acceptance"
    assert acceptance.acceptance_folder(root, 4) is None  # no folder, no hidden tests
    (root / ".issuewave" / "acceptance" / "4").mkdir(parents=True)
    assert acceptance.acceptance_folder(root, 4) is None  # an empty one neither
    (root / ".issuewave" / "acceptance" / "4" / "test_4.py").write_text("")
    assert acceptance.acceptance_folder(root, 4) == root / ".issuewave" / "acceptance" / "4"
