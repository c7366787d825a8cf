"""One run: each issue through workspace → agent → verify → PR record, driven by the scheduler.

Everything that changes state goes through the store first, so a run killed at any point — even by
SIGKILL — can be resumed without redoing verified work or duplicating a PR record.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from pathlib import Path

from issuewave import budget, proc, verify
from issuewave.agents.base import AgentReport, AgentSettings, AttemptContext, Usage
from issuewave.context import RunContext
from issuewave.executor import AttemptOrder, Executor
from issuewave.issues import Issue
from issuewave.naming import commit_message
from issuewave.progress import View
from issuewave.prompt import PromptInputs, build_prompt, build_retry_prompt
from issuewave.publishing import publish
from issuewave.scheduler import Outcome, schedule
from issuewave.store import (
    BLOCKED,
    DONE_STATES,
    FAILED,
    INTERRUPTED,
    RUNNING,
    SUCCEEDED,
    AttemptRecord,
    TaskRecord,
)
from issuewave.types import CommitSha, IssueNumber
from issuewave.workspace import MergeConflict, Worktree, merged_base

log = logging.getLogger("issuewave.run")
FINAL_MESSAGE_KEPT = 4000
VERIFIED = "verified"  # an attempt that passed verification; its PR may not exist yet


class Orchestrator:
    def __init__(self, ctx: RunContext, view: View, executor: Executor | None = None) -> None:
        self.ctx = ctx
        self.view = view
        self.executor = executor or ctx.local_executor()
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
                await self.executor.discard(worktree)

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
        """The base is journalled before the branch exists, so a crash in between is resumable."""
        base = task.base_commit  # merging dependencies only writes objects: no lock needed
        if not base:
            base = await asyncio.to_thread(self._choose_base, task)
        started = bool(self.ctx.store.attempts(self.ctx.run_id, task.issue))
        return await self.executor.prepare(
            Path(task.worktree), task.branch, CommitSha(base), started=started
        )

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
        attempt = self._start_attempt(number)
        retry_note = f"retrying after: {feedback.splitlines()[0]}" if feedback else ""
        self.view.update(number, RUNNING, attempt=attempt.number, note=retry_note)
        log_dir = Path(attempt.log_dir)
        ctx = self._attempt_context(number, attempt, worktree, feedback, log_dir)
        order = AttemptOrder(ctx, log_dir, commit_message(self.ctx.config.commit, ctx.issue))
        result = await self.executor.attempt(order, _Recorder(self, attempt))
        verdict = result.verdict
        if result.head is not None:
            if verdict.findings is not None:  # what its dependents' tests are held to
                results = verdict.findings.results.as_json()
                self.ctx.store.record_test_results(self.ctx.run_id, result.head, results)
            self.ctx.store.update_task(
                self.ctx.run_id, number, "task_verified", head_commit=result.head
            )
        status = VERIFIED if verdict.ok else FAILED
        self.ctx.store.update_attempt(
            attempt,
            f"attempt_{status}",
            status=status,
            reason=verdict.reason,
            finished_at=time.time(),
            **_findings_fields(verdict),
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
        test_cmd = self.ctx.tests.shown
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
                self.ctx.tests.shown,
                self.ctx.config.commit,
                feedback,
            )
        )

    def record_agent_exit(
        self, attempt: AttemptRecord, process: proc.Outcome, report: AgentReport
    ) -> None:
        usage = self._own_usage(attempt, report)
        self.ctx.store.update_attempt(
            attempt,
            "agent_exited",
            exit_code=process.returncode,
            timed_out=int(process.timed_out),
            agent_finished_at=time.time(),
            session_id=report.session_id,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_tokens=usage.cached_tokens,
            cost_usd=usage.cost_usd,
            final_message=report.final_message[:FINAL_MESSAGE_KEPT],
        )
        self.view.update(attempt.issue, "verifying", attempt=attempt.number)

    def _own_usage(self, attempt: AttemptRecord, report: AgentReport) -> Usage:
        """The attempt's own usage: where the CLI reports a resumed session's running total,
        what it adds to the earlier attempts of that session (each recorded as its own)."""
        if not self.ctx.agent.usage_accumulates or report.session_id is None:
            return report.usage
        earlier = [
            a for a in self.ctx.store.attempts(self.ctx.run_id, attempt.issue)
            if a.number < attempt.number and a.session_id == report.session_id
        ]  # fmt: skip
        spent = sum((_recorded_usage(a) for a in earlier), Usage())
        return report.usage.beyond(spent)

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
        url = publish(self.ctx, number, worktree)
        self._tell(self.ctx.plan.issues[number], f"✅ verified; pull request {url} opened.")

    def _tell(self, issue: Issue, text: str) -> None:
        if self.ctx.config.comment:
            self.ctx.forge.progress(issue, text)

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


class _Recorder:
    """What the executor reports while an attempt runs, written to the store by the orchestrator."""

    def __init__(self, orchestrator: Orchestrator, attempt: AttemptRecord) -> None:
        self.orchestrator, self.attempt = orchestrator, attempt

    def agent_exited(self, process: proc.Outcome, report: AgentReport) -> None:
        self.orchestrator.record_agent_exit(self.attempt, process, report)


def _findings_fields(verdict: verify.Verdict) -> dict[str, str]:
    return {"test_findings": verdict.findings.dumps()} if verdict.findings else {}


def _feedback_text(verdict: verify.Verdict) -> str:
    return f"{verdict.reason}\n\n{verdict.feedback}".strip()


def _recorded_usage(attempt: AttemptRecord) -> Usage:
    return Usage(attempt.input_tokens or 0, attempt.output_tokens or 0,
                 attempt.cached_tokens or 0, attempt.cost_usd)  # fmt: skip
