"""Readers shared by several agents' event streams.

`StreamJson` reads the Claude Code stream-json shape, which Amp and Cursor print too (see their
adapters). `Outcome` is how an event stream ends for the CLIs whose success is a closing event
(codex, gemini, opencode): a run without one is a failure that says how the process ended.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from issuewave.agents.base import AgentReport, Usage
from issuewave.agents.output import get_dict, get_float, get_int, get_str, json_lines

# Turns one usage object of a CLI's own shape (and a cost, where known) into a Usage.
UsageReader = Callable[[Mapping[str, Any], float | None], Usage]


def ended(exit_code: int | None) -> str:
    """How the process ended, for an error message: `exited 1`, or `was stopped` when killed."""
    return "was stopped" if exit_code is None else f"exited {exit_code}"


@dataclass
class Outcome:
    """What an event stream said about its run: a success needs the closing event, no error."""

    session_id: str | None = None
    final_message: str = ""
    usage: Usage = field(default_factory=Usage)
    completed: bool = False
    error: str | None = None

    def take(self, event: Mapping[str, Any]) -> None:
        """One event of the CLI's own vocabulary: each adapter's subclass reads its own."""

    def read(self, stdout: str, agent: str) -> Self:
        for event in json_lines(stdout, agent):
            self.take(event)
        return self

    def report(self, agent: str, exit_code: int | None, missing: str) -> AgentReport:
        """`missing` says which closing event never came (`without a result event`)."""
        error = self.error
        if not self.completed and error is None:
            error = f"{agent} {ended(exit_code)} {missing}"
        succeeded = self.completed and self.error is None
        return AgentReport(succeeded, self.final_message, self.session_id, self.usage, error)


def anthropic_usage(usage: Mapping[str, Any], cost: float | None) -> Usage:
    """Anthropic's counters: `input_tokens` excludes both cache counters.

    Cache writes are input the model read afresh (billed above the base input rate), so they count
    as input; cache reads are re-used context billed at a tenth of it, so they stay apart as cached
    and out of the token budget, which would otherwise be dominated by them.
    """
    return Usage(
        get_int(usage, "input_tokens") + get_int(usage, "cache_creation_input_tokens"),
        get_int(usage, "output_tokens"),
        get_int(usage, "cache_read_input_tokens"),
        cost,
    )


@dataclass
class StreamJson:
    """What a Claude-style stream said: its session, its final result event and its last text."""

    session_id: str | None = None
    result: dict[str, Any] | None = None
    last_text: str = ""
    # Per API message: Claude Code repeats a message's usage on each of its content blocks.
    message_usage: dict[str, dict[str, Any]] = field(default_factory=dict)

    def take(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        if kind == "system" and event.get("subtype") == "init":
            self.session_id = get_str(event, "session_id") or self.session_id
        elif kind == "assistant":
            self._take_message(get_dict(event, "message"))
        elif kind == "result":
            self.result = dict(event)
            self.session_id = get_str(event, "session_id") or self.session_id
        # Any other event type (user, tool_call, thinking, stream events...) says nothing we keep.

    def _take_message(self, message: Mapping[str, Any]) -> None:
        blocks = message.get("content")
        texts = [get_str(b, "text") or "" for b in blocks or () if isinstance(b, dict)]
        self.last_text = "".join(texts).strip() or self.last_text
        if get_dict(message, "usage"):
            key = get_str(message, "id") or f"#{len(self.message_usage)}"
            self.message_usage[key] = get_dict(message, "usage")

    def usage(self, convert: UsageReader, cost: float | None) -> Usage:
        """The result's totals; the messages' sum where the result carries none."""
        totals = get_dict(self.result, "usage")
        if totals:
            return convert(totals, cost)
        parts = [convert(u, None) for u in self.message_usage.values()]
        return sum(parts, Usage(cost_usd=cost))

    def report(self, agent: str, exit_code: int | None, usage: Usage) -> AgentReport:
        """Success is the result event's own word: the exit code can say either thing."""
        result = self.result
        if result is None:
            missing = (
                f"{agent} {ended(exit_code)} without a result event; its stderr log may say why"
            )
            return AgentReport(False, self.last_text, self.session_id, usage, missing)
        message = get_str(result, "result") or self.last_text
        if _failed(result):
            return AgentReport(False, message, self.session_id, usage, _error(result, agent))
        return AgentReport(True, message, self.session_id, usage)


def read_stream_json(
    stdout: str, agent: str, exit_code: int | None, convert: UsageReader, cost_key: str = ""
) -> AgentReport:
    """The report of a Claude-style stream; `cost_key` names the result's cost where it has one."""
    stream = StreamJson()
    for event in json_lines(stdout, agent):
        stream.take(event)
    cost = get_float(stream.result, cost_key) if cost_key else None
    return stream.report(agent, exit_code, stream.usage(convert, cost))


def _failed(result: Mapping[str, Any]) -> bool:
    # An error subtype, or `is_error` on a "success" (an API error ends that way).
    return result.get("is_error") is True or get_str(result, "subtype") not in (None, "success")


def _error(result: Mapping[str, Any], agent: str) -> str:
    errors = [e for e in result.get("errors") or () if isinstance(e, str) and e]
    text = get_str(result, "error", "result") or "; ".join(errors)
    subtype = get_str(result, "subtype")
    what = subtype if subtype and subtype != "success" else "an error"
    return f"{agent} reported {what}: {text}" if text else f"{agent} reported {what}"
