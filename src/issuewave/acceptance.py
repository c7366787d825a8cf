"""Hidden acceptance tests: tests an issue's work must pass that its agent never sees.

They live in the main checkout, untracked: `.issuewave/acceptance/<N>/` for issue N, or the folder
a local issue file names with `acceptance:`. At verification their content is laid over the
repository root in a scratch checkout of the attempt's head (`.issuewave/acceptance/3/tests/
test_accept_3.py` becomes `tests/test_accept_3.py`) and the test command runs there, its output in
a log of its own (`testchecks`).

An agent's workspace is a checkout of a commit, so untracked files are not in it; a folder git
tracks would be (or in the history), so a tracked one is refused before anything is created.
A sandbox hides `acceptance_root` (and any folder an issue names) from the agent.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from issuewave.errors import InputError
from issuewave.git import Git
from issuewave.issues import Issue
from issuewave.types import IssueNumber

ACCEPTANCE_DIR = ".issuewave/acceptance"


def acceptance_root(repo_root: Path) -> Path:
    """The folder of every issue's hidden tests: a sandbox hides it from agents."""
    return repo_root / ACCEPTANCE_DIR


def acceptance_folder(repo_root: Path, number: int, declared: str | None = None) -> Path | None:
    """Issue `number`'s hidden tests: the folder its issue file names (relative to the
    repository root), else `.issuewave/acceptance/<number>`; None when it holds no file."""
    folder = repo_root / declared if declared else acceptance_root(repo_root) / str(number)
    return folder if hidden_files(folder) else None


def hidden_files(folder: Path) -> list[str]:
    """The files to lay over the checkout, relative to `folder`; nothing under a .git folder."""
    if not folder.is_dir():
        return []
    found = (p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    return sorted(p.as_posix() for p in found if ".git" not in p.parts)


def folders_of(repo_root: Path, issues: Iterable[Issue]) -> dict[IssueNumber, Path]:
    """The issues that have hidden acceptance tests, and where; a folder an issue file names
    must exist inside the repository."""
    found = {}
    for issue in issues:
        if issue.acceptance is not None:
            _check_declared(repo_root, issue)
        folder = acceptance_folder(repo_root, issue.number, issue.acceptance)
        if folder is not None:
            found[issue.number] = folder
    return found


def _check_declared(repo_root: Path, issue: Issue) -> None:
    folder = (repo_root / str(issue.acceptance)).resolve()
    if not folder.is_relative_to(repo_root.resolve()) or not folder.is_dir():
        raise InputError(
            f"{issue.source or f'issue #{issue.number}'}: acceptance: {issue.acceptance!r} is "
            "not a folder inside the repository",
            hint="name a folder relative to the repository root, like .issuewave/acceptance/3",
        )


def refuse_tracked(git: Git, repo_root: Path, folders: Iterable[Path], base: str | None) -> None:
    """Hidden tests git tracks are not hidden: in the index or in the base commit, an agent's
    checkout has them. Bad input (exit 2), before anything is created."""
    for folder in dict.fromkeys([acceptance_root(repo_root), *folders]):
        relative = folder.relative_to(repo_root).as_posix()
        tracked = git.tracked_under(relative) or (git.tracked_under(relative, base) if base else [])
        if tracked:
            raise InputError(
                f"the hidden acceptance tests in {relative}/ are tracked by git ({len(tracked)} "
                "files), so an agent would read them in its checkout",
                hint=f"untrack them: `git rm -r --cached {relative}`, add `{relative}/` to "
                ".gitignore and commit; the files stay where they are",
            )


def describe(repo_root: Path, folders: Mapping[IssueNumber, Path]) -> list[str]:
    """One line per issue for the plan: how many hidden files, never what they hold."""
    lines = []
    for number, folder in sorted(folders.items()):
        count = len(hidden_files(folder))
        where = folder.relative_to(repo_root).as_posix()
        lines.append(f"#{number} has hidden acceptance tests: {count} file"
                     f"{'s' * (count != 1)} in {where}/ (run at verification; its agent never "
                     "sees them)")  # fmt: skip
    return lines


def lay_over(folder: Path, checkout: Path) -> int:
    """The hidden files copied into `checkout`, over what is there. A symbolic link the code
    under test may have committed on the way is replaced, never followed out of the checkout."""
    files = hidden_files(folder)
    for relative in files:
        shutil.copyfile(folder / relative, _plain_target(checkout, PurePosixPath(relative)))
    return len(files)


def _plain_target(checkout: Path, relative: PurePosixPath) -> Path:
    current = checkout
    *folders, name = relative.parts
    for part in folders:
        current = current / part
        if current.is_symlink() or (current.exists() and not current.is_dir()):
            current.unlink()
        current.mkdir(exist_ok=True)
    target = current / name
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.is_dir():
        shutil.rmtree(target)
    return target
