"""One run: each issue through workspace → agent → verify → PR record, driven by the scheduler.

Everything that changes state goes through the store first, so a run killed at any point — even by
SIGKILL — can be resumed without redoing verified work or duplicating a PR record.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from issuewave import budget, proc, verify
from issuewave.agents.base import Agent, AgentReport, AgentSettings, AttemptContext
from issuewave.config import Config
from issuewave.errors import IssuewaveError
from issuewave.forges.base import Forge, PullRequestDraft
from issuewave.git import Git
from issuewave.issues import Issue
from issuewave.naming import commit_message, one_line
from issuewave.plan import Plan
from issuewave.progress import View
from issuewave.prompt import PromptInputs, build_prompt, build_retry_prompt
from issuewave.scheduler import Outcome, schedule
from issuewave.store import (
    BLOCKED,
    DONE_STATES,
    FAILED,
    INTERRUPTED,
    PENDING,
    RUNNING,
    SUCCEEDED,
    AttemptRecord,
    Store,
    TaskRecord,
)
from issuewave.types import BranchName, CommitSha, IssueNumber, RunId
from issuewave.workspace import (
    MergeConflict,
    Worktree,
    create_worktree,
    discard_unstarted,
    merged_base,
    reopen_worktree,
)

log = logging.getLogger("issuewave.run")
MAX_AGENT_OUTPUT = 64 * 1024 * 1024  # structured output beyond this is not parsed
FINAL_MESSAGE_KEPT = 4000
VERIFIED = "verified"  # an attempt that passed verification; its PR may not exist yet


@dataclass(frozen=True)
class RunContext:
    """What every step of one run needs; built once by `run` or `resume`."""

    run_id: RunId
    git: Git  # the main checkout
    store: Store
    forge: Forge
    config: Config
    plan: Plan
    agent: Agent
    test_argv: tuple[str, ...]
    base_branch: BranchName
    base_commit: CommitSha
    baseline_failures: frozenset[str]
    env: Mapping[str, str]
    worktree_root: Path

    @property
    def run_dir(self) -> Path:
        return self.store.home / "runs" / self.run_id


class Orchestrator:
    def __init__(self, ctx: RunContext, view: View) -> None:
        self.ctx = ctx
        self.view = view
        # git worktree add/prune and branch creation share files under .git: one at a time.
        self._workspace_lock = asyncio.Lock()
        self._budget_announced = False
        self._ahead: dict[IssueNumber, asyncio.Task[Worktree]] = {}  # worktrees made in advance

    async def run(self) -> Outcome:
        tasks = {t.issue: t for t in self.ctx.store.tasks(self.ctx.run_id)}
        done = [n for n, t in tasks.items() if t.status in DONE_STATES]
        # Failed or blocked before this pass (resume without --retry-failed, external blockers).
        ended = [n for n, t in tasks.items() if t.status in (FAILED, BLOCKED)]
        try:
            return await schedule(
                list(tasks),
                self.ctx.plan.deps,
                self.ctx.plan.priority,
                jobs=self.ctx.config.jobs,
                run_one=self._run_issue,
                done=done,
                failed=ended,
                on_blocked=self._block,
                may_start=self._run_budget_left,
                upcoming=self._prepare_ahead,
            )
        finally:
            await self._drop_ahead()

    # --- worktrees in advance ---------------------------------------------------------------
    def _prepare_ahead(self, upcoming: list[IssueNumber]) -> None:
        """The ready issues next in line get their worktree while the running ones work, so a
        slot that frees up starts its agent without waiting for a checkout. At most `jobs`."""
        for number in upcoming:
            if len(self._ahead) >= self.ctx.config.jobs:
                return
            if number not in self._ahead:
                self._ahead[number] = asyncio.create_task(self._prepare(self._task(number)))

    async def _drop_ahead(self) -> None:
        """Undo the worktrees made for issues the run never started (it stopped first): they hold
        nothing but their base, and a later `run` must not find their branches."""
        ahead = list(self._ahead.items())
        self._ahead.clear()
        for _, task in ahead:
            task.cancel()
        made = await asyncio.gather(*(task for _, task in ahead), return_exceptions=True)
        for (number, _), worktree in zip(ahead, made, strict=True):
            if isinstance(worktree, Worktree) and not self.ctx.store.attempts(
                self.ctx.run_id, number
            ):  # a reopened worktree holds an earlier attempt's work: it stays
                async with self._workspace_lock:
                    await asyncio.to_thread(self._discard, worktree)

    def _discard(self, worktree: Worktree) -> None:
        discard_unstarted(self.ctx.git, worktree.path, worktree.branch, worktree.base)

    # --- budgets ----------------------------------------------------------------------------
    def _run_budget_left(self) -> bool:
        if self.ctx.config.max_run_cost is None and self.ctx.config.max_run_tokens is None:
            return True  # asked before every start: reading every attempt would grow with the run
        spent = budget.spent(self.ctx.store.attempts(self.ctx.run_id))
        over = budget.exceeded(spent, self.ctx.config.max_run_cost, self.ctx.config.max_run_tokens)
        if over and not self._budget_announced:
            self._budget_announced = True
            self.ctx.store.log_event(self.ctx.run_id, None, "run_budget_spent", detail=over)
            log.warning("run budget spent (%s): no new issues are started", over)
        return over is None

    def _issue_budget_spent(self, number: IssueNumber) -> str | None:
        spent = budget.spent(self.ctx.store.attempts(self.ctx.run_id, number))
        return budget.exceeded(spent, self.ctx.config.max_cost, self.ctx.config.max_tokens)

    # --- one issue --------------------------------------------------------------------------
    async def _run_issue(self, number: IssueNumber) -> bool:
        try:
            return await self._work_on(number)
        except asyncio.CancelledError:
            self._record(number, INTERRUPTED, kind="task_interrupted", reason="interrupted")
            raise
        except Exception as exc:  # a bug in one issue's pipeline must not sink the others
            log.exception("internal error on issue #%s", number)
            self._record(number, FAILED, kind="task_failed", reason=f"internal error: {exc}")
            return False

    async def _work_on(self, number: IssueNumber) -> bool:
        task = self._task(number)
        self._record(
            number, RUNNING, kind="task_started", started_at=task.started_at or time.time()
        )
        ahead = self._ahead.pop(number, None)
        try:
            worktree = await (ahead if ahead is not None else self._prepare(task))
        except MergeConflict as exc:
            self._record(number, FAILED, kind="task_failed", reason=str(exc))
            return False
        issue = self.ctx.plan.issues[number]
        await asyncio.to_thread(
            self._tell, issue, f"🚧 issuewave is working on this on branch `{worktree.branch}`."
        )
        if self._verified_head(task, worktree) is not None:
            return await self._publish(number, worktree)
        return await self._attempts(number, worktree)

    async def _attempts(self, number: IssueNumber, worktree: Worktree) -> bool:
        feedback = self._last_feedback(number)
        verdict = verify.Verdict(False, "no attempt ran")
        while self._failed_attempts(number) < self.ctx.config.max_attempts:
            over = self._issue_budget_spent(number)
            if over:
                verdict = verify.Verdict(False, f"{verdict.reason}; issue budget spent ({over})")
                break
            verdict = await self._attempt(number, worktree, feedback)
            if verdict.ok:
                return await self._publish(number, worktree)
            feedback = _feedback_text(verdict)
        self._record(number, FAILED, kind="task_failed", reason=verdict.reason)
        issue = self.ctx.plan.issues[number]
        await asyncio.to_thread(self._tell, issue, f"❌ not resolved: {verdict.reason}")
        return False

    def _block(self, number: IssueNumber, cause: IssueNumber) -> None:
        reason = f"dependency #{cause} did not succeed"
        self._record(number, BLOCKED, kind="task_blocked", reason=reason)

    # --- workspace --------------------------------------------------------------------------
    async def _prepare(self, task: TaskRecord) -> Worktree:
        if not task.base_commit:  # merging dependencies only writes objects: no lock needed
            base = await asyncio.to_thread(self._choose_base, task)
            task = dataclasses.replace(task, base_commit=base)
        async with self._workspace_lock:
            return await asyncio.to_thread(self._prepare_sync, task)

    def _prepare_sync(self, task: TaskRecord) -> Worktree:
        """The base is journalled before the branch exists, so a crash in between is resumable:
        the pre-checks refused foreign branches, so an existing branch here is this run's."""
        path = Path(task.worktree)
        base = CommitSha(task.base_commit or self._choose_base(task))
        if self.ctx.git.branch_exists(task.branch):
            if self.ctx.store.attempts(self.ctx.run_id, task.issue):
                return reopen_worktree(self.ctx.git, path, task.branch, base)
            # No agent ever ran here: a creation cut short, holding nothing but the base.
            discard_unstarted(self.ctx.git, path, task.branch, base)
        return create_worktree(self.ctx.git, path, task.branch, base)

    def _choose_base(self, task: TaskRecord) -> CommitSha:
        base = self._base_for(task)
        self.ctx.store.update_task(self.ctx.run_id, task.issue, "base_chosen", base_commit=base)
        return base

    def _base_for(self, task: TaskRecord) -> CommitSha:
        deps = self.ctx.plan.deps.get(task.issue, ())
        if not deps:
            return self.ctx.base_commit
        tips = [(f"#{d}", self._head_of(d)) for d in deps]
        return merged_base(self.ctx.git, tips, f"issuewave: base for #{task.issue}")

    def _head_of(self, number: IssueNumber) -> CommitSha:
        head = self._task(number).head_commit
        if head is None:
            raise RuntimeError(f"dependency #{number} succeeded without a recorded head")
        return CommitSha(head)

    # --- one attempt ------------------------------------------------------------------------
    async def _attempt(
        self, number: IssueNumber, worktree: Worktree, feedback: str | None
    ) -> verify.Verdict:
        if not worktree.path.is_dir():  # a previous attempt removed its own folder
            async with self._workspace_lock:
                await asyncio.to_thread(
                    reopen_worktree, self.ctx.git, worktree.path, worktree.branch, worktree.base
                )
        attempt = self._start_attempt(number)
        retry_note = f"retrying after: {feedback.splitlines()[0]}" if feedback else ""
        self.view.update(number, RUNNING, attempt=attempt.number, note=retry_note)
        log_dir = Path(attempt.log_dir)
        ctx = self._attempt_context(number, attempt, worktree, feedback, log_dir)
        before = await asyncio.to_thread(verify.snapshot, self.ctx.git, self.ctx.base_branch)
        outcome, report = await self._run_agent(ctx, attempt, log_dir)
        self.view.update(number, "verifying", attempt=attempt.number)
        verdict = await self._verify(ctx, attempt, outcome, report, before)
        status = VERIFIED if verdict.ok else FAILED
        self.ctx.store.update_attempt(
            attempt,
            f"attempt_{status}",
            status=status,
            reason=verdict.reason,
            finished_at=time.time(),
        )
        if not verdict.ok:
            self.view.update(number, RUNNING, attempt=attempt.number, note=verdict.reason)
        return verdict

    def _start_attempt(self, number: IssueNumber) -> AttemptRecord:
        previous = self.ctx.store.attempts(self.ctx.run_id, number)
        n = max((a.number for a in previous), default=0) + 1
        log_dir = self.ctx.run_dir / f"issue-{number}" / f"attempt-{n}"
        log_dir.mkdir(parents=True, exist_ok=True)
        draft = AttemptRecord(
            0,
            self.ctx.run_id,
            number,
            n,
            RUNNING,
            self.ctx.agent.name,
            f"{self.ctx.run_id}-{number}-{n}",
            time.time(),
            None,
            None,
            None,
            False,
            None,
            str(log_dir),
        )
        attempt_id = self.ctx.store.start_attempt(draft)
        return dataclasses.replace(draft, id=attempt_id)

    def _attempt_context(
        self,
        number: IssueNumber,
        attempt: AttemptRecord,
        worktree: Worktree,
        feedback: str | None,
        log_dir: Path,
    ) -> AttemptContext:
        issue = self.ctx.plan.issues[number]
        feedback_file = None
        if feedback:
            feedback_file = log_dir / "feedback.txt"
            feedback_file.write_text(feedback, encoding="utf-8")
        prompt_file = log_dir / "prompt.md"
        prompt_file.write_text(self._prompt(issue, worktree, feedback), encoding="utf-8")
        test_cmd = proc.quote(self.ctx.test_argv)
        return AttemptContext(
            issue,
            attempt.number,
            worktree.path,
            worktree.branch,
            worktree.base,
            prompt_file,
            feedback_file,
            tag=attempt.tag,
            resume_session=self._last_session(number) if feedback else None,
            retry_prompt=build_retry_prompt(issue, feedback, test_cmd) if feedback else None,
            settings=AgentSettings(
                self.ctx.config.model, self.ctx.config.agent_args, self.ctx.config.full_auto
            ),
        )

    def _credentials(self) -> dict[str, str]:
        """The agent's own credential variables: the agent gets them, the test command does not."""
        return {k: os.environ[k] for k in self.ctx.agent.credentials if k in os.environ}

    def _last_session(self, number: IssueNumber) -> str | None:
        sessions = [a.session_id for a in self.ctx.store.attempts(self.ctx.run_id, number)]
        return next((s for s in reversed(sessions) if s), None)

    def _prompt(self, issue: Issue, worktree: Worktree, feedback: str | None) -> str:
        deps = [self.ctx.plan.issues[d] for d in self.ctx.plan.deps.get(issue.number, ())]
        start = f"Branch `{worktree.branch}` starts at commit {worktree.base[:12]}."
        return build_prompt(
            PromptInputs(
                issue,
                worktree.path,
                worktree.branch,
                start,
                deps,
                proc.quote(self.ctx.test_argv),
                self.ctx.config.commit,
                feedback,
            )
        )

    async def _run_agent(
        self, ctx: AttemptContext, attempt: AttemptRecord, log_dir: Path
    ) -> tuple[proc.Outcome, AgentReport]:
        invocation = self.ctx.agent.invocation(ctx)
        outcome = await proc.supervise(
            invocation.argv,
            cwd=ctx.worktree,
            env={**self.ctx.env, **self._credentials(), **invocation.env},
            timeout=self.ctx.config.timeout,
            stdout_path=log_dir / "agent.out",
            stderr_path=log_dir / "agent.err",
            tag=attempt.tag,
            stdin_path=invocation.stdin_file,
        )
        output = proc.head(log_dir / "agent.out", max_bytes=MAX_AGENT_OUTPUT)
        report = self.ctx.agent.read_output(output, outcome.returncode)
        self.ctx.store.update_attempt(
            attempt,
            "agent_exited",
            exit_code=outcome.returncode,
            timed_out=int(outcome.timed_out),
            agent_finished_at=time.time(),
            session_id=report.session_id,
            input_tokens=report.usage.input_tokens,
            output_tokens=report.usage.output_tokens,
            cached_tokens=report.usage.cached_tokens,
            cost_usd=report.usage.cost_usd,
            final_message=report.final_message[:FINAL_MESSAGE_KEPT],
        )
        return outcome, report

    # --- verification -----------------------------------------------------------------------
    async def _verify(
        self,
        ctx: AttemptContext,
        attempt: AttemptRecord,
        outcome: proc.Outcome,
        report: AgentReport,
        before: verify.CheckoutSnapshot,
    ) -> verify.Verdict:
        log_dir = Path(attempt.log_dir)
        try:
            verdict = await asyncio.to_thread(
                self._verify_git, ctx, outcome, report, before, log_dir
            )
        except IssuewaveError as exc:  # e.g. the agent left a lock file or broke its worktree
            return verify.Verdict(False, f"the worktree could not be checked: {exc}")
        if not verdict.ok:
            return verdict
        verdict = await self._run_tests(ctx, attempt, log_dir)
        if verdict.ok:
            head = self.ctx.git.at(ctx.worktree).must_rev("HEAD")
            self.ctx.store.update_task(
                self.ctx.run_id, ctx.issue.number, "task_verified", head_commit=head
            )
        return verdict

    def _verify_git(
        self,
        ctx: AttemptContext,
        outcome: proc.Outcome,
        report: AgentReport,
        before: verify.CheckoutSnapshot,
        log_dir: Path,
    ) -> verify.Verdict:
        worktree = self.ctx.git.at(ctx.worktree)
        checks: list[Callable[[], verify.Verdict]] = [
            lambda: _agent_exit(outcome, report, log_dir, self.ctx.config.timeout),
            lambda: verify.checkout_untouched(self.ctx.git, before),
            lambda: verify.still_on_branch(worktree, ctx.branch),
        ]
        for check in checks:
            verdict = check()
            if not verdict.ok:
                return verdict
        worktree.commit_all(commit_message(self.ctx.config.commit, ctx.issue))
        return verify.has_changes(worktree, ctx.base)

    async def _run_tests(
        self, ctx: AttemptContext, attempt: AttemptRecord, log_dir: Path
    ) -> verify.Verdict:
        test_log = log_dir / "tests.log"
        outcome = await proc.supervise(
            self.ctx.test_argv,
            cwd=ctx.worktree,
            env=self.ctx.env,
            timeout=self.ctx.config.timeout,
            stdout_path=test_log,
            tag=f"{attempt.tag}-tests",
        )
        output = proc.tail(test_log, lines=200, max_bytes=256_000)
        return verify.judge_tests(outcome.returncode, output, self.ctx.baseline_failures)

    def _verified_head(self, task: TaskRecord, worktree: Worktree) -> CommitSha | None:
        """On resume: an attempt that passed before the crash need not run again."""
        attempts = self.ctx.store.attempts(self.ctx.run_id, task.issue)
        if not attempts or attempts[-1].status != VERIFIED or task.head_commit is None:
            return None
        tip = self.ctx.git.rev(f"refs/heads/{worktree.branch}")
        return CommitSha(task.head_commit) if tip == task.head_commit else None

    # --- publishing -------------------------------------------------------------------------
    async def _publish(self, number: IssueNumber, worktree: Worktree) -> bool:
        await asyncio.to_thread(self._publish_sync, number, worktree)
        task = self._task(number)
        self.view.update(number, SUCCEEDED, attempt=task.attempts, note=f"PR for {task.branch}")
        return True

    def _publish_sync(self, number: IssueNumber, worktree: Worktree) -> None:
        issue = self.ctx.plan.issues[number]
        deps = self.ctx.plan.deps.get(number, ())
        for dep in deps:  # the order invariant, checked on our own records (a merged PR counts)
            if self.ctx.store.pull_for_head(self._task(dep).branch) is None:
                raise RuntimeError(f"#{dep} has no PR yet; #{number}'s cannot come first")
        task = self._task(number)
        if self.ctx.forge.push_remote:
            self.ctx.git.push(self.ctx.forge.push_remote, worktree.branch)
        base = self._pr_base(deps)
        draft = PullRequestDraft(
            issue=issue,
            head=worktree.branch,
            base=base,
            body=self._pr_body(issue, deps, task, worktree, base),
        )
        record = self.ctx.forge.publish(
            self.ctx.run_id, draft, task_fields={"status": SUCCEEDED, "finished_at": time.time()}
        )
        self._tell(issue, f"✅ verified; pull request {record.url or f'#{record.number}'} opened.")

    def _pr_base(self, deps: tuple[IssueNumber, ...]) -> BranchName:
        """With --stack, a single dependency's branch is the base, so the diff shows only this."""
        if self.ctx.config.stack and len(deps) == 1:
            return self._task(deps[0]).branch
        return self.ctx.base_branch

    def _tell(self, issue: Issue, text: str) -> None:
        if self.ctx.config.comment:
            self.ctx.forge.progress(issue, text)

    def _pr_body(
        self,
        issue: Issue,
        deps: tuple[IssueNumber, ...],
        task: TaskRecord,
        worktree: Worktree,
        base: BranchName,
    ) -> str:
        head = task.head_commit or ""
        stat = self.ctx.git.diff_stat(worktree.base, head) if head else ""
        lines = [f"Closes #{issue.number}"]
        if deps:
            lines.append("Depends on " + ", ".join(f"#{d}" for d in deps))
        if base != self.ctx.base_branch:
            lines += [
                "",
                f"Stacked on `{base}` (#{deps[0]}'s branch), so this diff shows only this issue. "
                f"When #{deps[0]}'s pull request merges, re-point this one's base to "
                f"`{self.ctx.base_branch}`.",
            ]
        lines += [
            "",
            "## Verification",
            f"- `{proc.quote(self.ctx.test_argv)}` passed in the worktree on attempt "
            f"{task.attempts} of at most {self.ctx.config.max_attempts}.",
            f"- Changes against base {worktree.base[:12]}: {stat or 'see the diff'}.",
            f"- Head {head[:12]} on `{worktree.branch}`; issuewave run {self.ctx.run_id}.",
            f"- The run's report: `issuewave report --run {self.ctx.run_id}`.",
        ]
        return "\n".join(lines) + "\n"

    # --- store helpers ----------------------------------------------------------------------
    def _task(self, number: IssueNumber) -> TaskRecord:
        return self.ctx.store.task(self.ctx.run_id, number)

    def _record(self, number: IssueNumber, status: str, *, kind: str, **fields: object) -> None:
        if status in (FAILED, BLOCKED, INTERRUPTED):
            fields.setdefault("finished_at", time.time())
        self.ctx.store.update_task(self.ctx.run_id, number, kind, status=status, **fields)
        note = str(fields.get("reason") or "")
        self.view.update(number, status, attempt=self._task(number).attempts, note=note)

    def _failed_attempts(self, number: IssueNumber) -> int:
        return sum(a.status == FAILED for a in self.ctx.store.attempts(self.ctx.run_id, number))

    def _last_feedback(self, number: IssueNumber) -> str | None:
        """What the next attempt must fix: the last rejection, or a later repair request."""
        failed = [a for a in self.ctx.store.attempts(self.ctx.run_id, number) if a.status == FAILED]
        repair = self._repair_request(number)
        if repair is not None and (not failed or repair[0] > (failed[-1].finished_at or 0)):
            return repair[1]
        if not failed:
            return None
        log_dir = Path(failed[-1].log_dir)
        tests = verify.read_tail(log_dir / "tests.log")
        return f"{failed[-1].reason}\n\n{tests}".strip()

    def _repair_request(self, number: IssueNumber) -> tuple[float, str] | None:
        requests = [
            e for e in self.ctx.store.events(self.ctx.run_id, kind="repair_requested")
            if e.issue == number
        ]  # fmt: skip
        return (requests[-1].ts, str(requests[-1].data["feedback"])) if requests else None


def _agent_exit(
    outcome: proc.Outcome, report: AgentReport, log_dir: Path, timeout: float
) -> verify.Verdict:
    """The agent's own verdict, read from its output where the CLI reports one."""
    if outcome.timed_out:
        return verify.Verdict(False, f"the agent timed out after {timeout:g} s and was killed")
    if report.succeeded:
        return verify.Verdict(True)
    errors = verify.read_tail(log_dir / "agent.err") or verify.read_tail(log_dir / "agent.out")
    if report.error:
        return verify.Verdict(
            False, f"the agent reported an error: {one_line(report.error)}", errors
        )
    return verify.Verdict(False, f"the agent exited with status {outcome.returncode}", errors)


def _feedback_text(verdict: verify.Verdict) -> str:
    return f"{verdict.reason}\n\n{verdict.feedback}".strip()


def mark_interrupted(store: Store, run_id: RunId, *, requeue: bool) -> list[IssueNumber]:
    """Tasks caught mid-flight by a crash or Ctrl-C: strays killed, open attempts closed.

    `requeue` (on resume) puts them back to pending; otherwise they show as interrupted.
    """
    interrupted = []
    for task in store.tasks(run_id):
        if task.status in (RUNNING, INTERRUPTED):
            _end_open_attempts(store, run_id, task.issue)
            status, kind = (PENDING, "task_requeued") if requeue else (INTERRUPTED, "task_stopped")
            store.update_task(run_id, task.issue, kind, status=status, reason=None)
            interrupted.append(task.issue)
    return interrupted


def _end_open_attempts(store: Store, run_id: RunId, issue: IssueNumber) -> None:
    for attempt in store.attempts(run_id, issue):
        if attempt.status == RUNNING:
            killed = proc.kill_tagged(attempt.tag) + proc.kill_tagged(f"{attempt.tag}-tests")
            store.update_attempt(
                attempt,
                "attempt_interrupted",
                status=INTERRUPTED,
                finished_at=time.time(),
                reason=_killed_note(killed),
            )


def _killed_note(killed: list[int]) -> str:
    return "interrupted" + (f"; killed {len(killed)} leftover processes" if killed else "")


def describe_outcome(outcome: Outcome) -> str:
    parts = [f"{len(outcome.succeeded)} succeeded"]
    if outcome.failed:
        parts.append(f"{len(outcome.failed)} failed ({_issues(outcome.failed)})")
    if outcome.blocked:
        parts.append(f"{len(outcome.blocked)} blocked ({_issues(outcome.blocked)})")
    if outcome.not_started:
        parts.append(
            f"{len(outcome.not_started)} not started ({_issues(outcome.not_started)}): the run "
            "budget is spent; raise max_run_cost / max_run_tokens and `issuewave resume`"
        )
    return one_line(", ".join(parts), 400)


def _issues(numbers: object) -> str:
    return ", ".join(f"#{n}" for n in sorted(numbers))  # type: ignore[call-overload]
