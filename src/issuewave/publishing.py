"""Publishing a verified issue: its branch pushed where the forge wants it, its pull request
opened after its dependencies' (never before), and the PR recorded with the task's success.

The forge opens the PR and answers with a reference; the store's record is written here, in the
same transaction as the task's success, so a crash leaves either both or neither.
"""

from __future__ import annotations

import time

from issuewave.context import RunContext
from issuewave.findings import OFF, Findings, clean_summary, describe
from issuewave.forges.base import PullRef, PullRequestDraft
from issuewave.issues import Issue
from issuewave.prompt import fence_for
from issuewave.store import SUCCEEDED, PullRecord, TaskRecord
from issuewave.types import BranchName, IssueNumber, PullNumber, RunId
from issuewave.workspace import Worktree


def publish(ctx: RunContext, number: IssueNumber, worktree: Worktree) -> str:
    """The PR for a verified issue; its URL (or the store's number) for the progress comment."""
    issue = ctx.plan.issues[number]
    deps = ctx.plan.deps.get(number, ())
    for dep in deps:  # the order invariant, checked on our own records (a merged PR counts)
        if ctx.store.pull_for_head(ctx.store.task(ctx.run_id, dep).branch) is None:
            raise RuntimeError(f"#{dep} has no PR yet; #{number}'s cannot come first")
    task = ctx.store.task(ctx.run_id, number)
    if ctx.forge.push_remote:
        ctx.git.push(ctx.forge.push_remote, worktree.branch)
    base = _pr_base(ctx, deps)
    body = pr_body(ctx, issue, deps, task, worktree, base)
    draft = PullRequestDraft(issue=issue, head=worktree.branch, base=base, body=body)
    pull = ctx.forge.open_pull(draft)
    record = ctx.store.open_pull_request(
        _pull_record(ctx.run_id, draft, pull), {"status": SUCCEEDED, "finished_at": time.time()}
    )
    return record.url or f"#{record.number}"


def _pr_base(ctx: RunContext, deps: tuple[IssueNumber, ...]) -> BranchName:
    """With --stack, a single dependency's branch is the base, so the diff shows only this."""
    if ctx.config.stack and len(deps) == 1:
        return ctx.store.task(ctx.run_id, deps[0]).branch
    return ctx.base_branch


def pr_body(
    ctx: RunContext,
    issue: Issue,
    deps: tuple[IssueNumber, ...],
    task: TaskRecord,
    worktree: Worktree,
    base: BranchName,
) -> str:
    head = task.head_commit or ""
    stat = ctx.git.diff_stat(worktree.base, head) if head else ""
    lines = [f"Closes #{issue.number}"]
    if deps:
        lines.append("Depends on " + ", ".join(f"#{d}" for d in deps))
    if base != ctx.base_branch:
        lines += [
            "",
            f"Stacked on `{base}` (#{deps[0]}'s branch), so this diff shows only this issue. "
            f"When #{deps[0]}'s pull request merges, re-point this one's base to "
            f"`{ctx.base_branch}`.",
        ]
    lines += [
        "",
        "## Verification",
        f"- `{ctx.tests.shown}` passed in the worktree on attempt "
        f"{task.attempts} of at most {ctx.config.max_attempts}.",
        f"- Changes against base {worktree.base[:12]}: {stat or 'see the diff'}.",
        f"- Head {head[:12]} on `{worktree.branch}`; issuewave run {ctx.run_id}.",
        f"- The run's report: `issuewave report --run {ctx.run_id}`.",
        *_tests_section(ctx, issue.number),
    ]
    return "\n".join(lines) + "\n"


def _tests_section(ctx: RunContext, number: IssueNumber) -> list[str]:
    """What verification found about the existing tests. Test names come from the agent's code,
    so they go in a code block: no mention, link or closing keyword in them does anything."""
    found = [a.test_findings for a in ctx.store.attempts(ctx.run_id, number) if a.test_findings]
    findings = Findings.loads(found[-1]) if found else None
    if findings is None:
        return []
    said = describe(findings, limit=50)
    if not said:
        return [] if findings.policy == OFF else [f"- Existing tests: {clean_summary(findings)}."]
    text = "\n".join(f"- {line}" for line in said)
    fence = fence_for(text)
    intro = f"tests_policy {findings.policy}: look at these before merging."
    return ["", "## Tests", "", intro, "", f"{fence}text", text, fence]


def _pull_record(run_id: RunId, draft: PullRequestDraft, pull: PullRef) -> PullRecord:
    """The store numbers its record; the forge's own number and URL are kept beside it."""
    now = time.time()
    return PullRecord(PullNumber(0), run_id, draft.issue.number, draft.head, draft.base,
                      draft.title, draft.body, pull.labels, "open", now, now,
                      remote_number=pull.remote_number, url=pull.url)  # fmt: skip
