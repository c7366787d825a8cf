"""Repair (`issuewave check --repair`): a conflicting branch redone on top of the other one.

For each conflicting pair, the branch with the lower priority is redone: its tip is saved under
refs/issuewave/backup/ first, it is rebased onto a base that already holds the other branch, and
its agent runs again with the conflict and the other branch's change in the prompt, then is
verified as usual. Its PR record is updated, never duplicated, and now depends on the other issue.
"""

from __future__ import annotations

from pathlib import Path

from issuewave.conflicts import record_conflicts
from issuewave.execution import execute
from issuewave.git import Git
from issuewave.integrate import Pair
from issuewave.launch import resumed_context
from issuewave.project import Project
from issuewave.runs import run_config
from issuewave.store import PENDING, RunRecord, TaskRecord, run_lock
from issuewave.types import BranchName, CommitSha, IssueNumber
from issuewave.ui import say
from issuewave.workspace import backup_branch, merged_base, reopen_worktree, save_uncommitted

DIFF_SHOWN = 12_000  # characters of the other branch's change put into the prompt


def repair(opened: Project, run: RunRecord, *, plain: bool) -> int:
    project = Project(opened.git, run_config(run))
    with run_lock(project.store.home, f"repair of {run.id}"):
        pairs = record_conflicts(project.git, project.store, run).conflicts
        if not pairs:
            say("nothing to repair: no conflicts between the verified branches")
            return 0
        redone: set[int] = set()
        for pair in pairs:
            redone.add(_prepare(project, run, pair, redone))
        code = execute(resumed_context(project, project.store.run(run.id) or run), as_json=False,
                       plain=plain)  # fmt: skip
        left = record_conflicts(project.git, project.store, run).conflicts
    for pair in left:
        say(f"still conflicting: #{pair.a} and #{pair.b} in {', '.join(pair.files)}")
    return 1 if code or left else 0


def _prepare(project: Project, run: RunRecord, pair: Pair, redone: set[int]) -> int:
    tasks = {t.issue: t for t in project.store.tasks(run.id)}
    redo, keep = _choose(tasks[IssueNumber(pair.a)], tasks[IssueNumber(pair.b)], redone)
    worktree = Path(redo.worktree)
    if worktree.is_dir():  # anything left in the workspace goes into the backup too
        save_uncommitted(project.git, worktree, f"issuewave: saved before repairing #{redo.issue}")
    saved = backup_branch(project.git, redo.branch)
    old_tip = CommitSha(redo.head_commit or "")
    base = merged_base(
        project.git,
        [(f"#{keep.issue}", CommitSha(keep.head_commit or "")),
         (f"#{redo.issue}'s base", CommitSha(redo.base_commit or run.base_commit))],
        f"issuewave: base for repairing #{redo.issue} on top of #{keep.issue}",
    )  # fmt: skip
    _move_branch(project.git, worktree, redo.branch, base)
    for attempt in project.store.attempts(run.id, redo.issue):  # a fresh set of attempts
        if attempt.status == "failed":
            project.store.update_attempt(attempt, "attempt_superseded", status="superseded")
    feedback = _feedback(project.git, redo, keep, pair.files, old_tip, saved)
    project.store.log_event(run.id, redo.issue, "repair_requested", feedback=feedback,
                            other=keep.issue, backup=saved[0] if saved else None)  # fmt: skip
    project.store.update_task(
        run.id, redo.issue, "task_requeued", status=PENDING, base_commit=base, head_commit=None,
        finished_at=None, reason=None, depends_on=tuple(sorted({*redo.depends_on, keep.issue})),
    )  # fmt: skip
    say(f"#{redo.issue}: rebased onto #{keep.issue} (old tip saved as "
        f"{saved[0] if saved else '—'}); its agent runs again")  # fmt: skip
    return int(redo.issue)


def _choose(a: TaskRecord, b: TaskRecord, redone: set[int]) -> tuple[TaskRecord, TaskRecord]:
    """Redo the one fewer issues wait on (lower priority); the later issue on a tie."""
    if a.issue in redone:
        return a, b
    if b.issue in redone:
        return b, a
    return (a, b) if (a.priority, -a.issue) < (b.priority, -b.issue) else (b, a)


def _move_branch(git: Git, path: Path, branch: BranchName, base: CommitSha) -> None:
    """The branch (already backed up) restarts at the new base, in its own clean workspace."""
    worktree = reopen_worktree(git, path, branch, base)
    git.at(worktree.path).reset_hard(base)
    git.update_ref(f"refs/heads/{branch}", base)


def _feedback(
    git: Git,
    redo: TaskRecord,
    keep: TaskRecord,
    files: list[str],
    old_tip: CommitSha,
    saved: tuple[str, CommitSha] | None,
) -> str:
    theirs = git.diff(str(keep.base_commit), str(keep.head_commit), files)
    yours = git.diff(str(redo.base_commit), old_tip, files)
    return (
        f"Your branch for #{redo.issue} conflicted with #{keep.issue} ({keep.title}) in: "
        f"{', '.join(files)}.\n"
        f"The branch now starts from a commit that already holds #{keep.issue}'s work. "
        f"Redo your change on top of it, keeping #{keep.issue}'s.\n"
        f"Your previous work is saved as {saved[0] if saved else old_tip}.\n\n"
        f"#{keep.issue}'s change to those files:\n{theirs[:DIFF_SHOWN]}\n\n"
        f"Your previous change to those files:\n{yours[:DIFF_SHOWN]}"
    )
