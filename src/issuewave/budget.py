"""Budgets: tokens and cost spent, per issue and per run, from the attempts in the journal."""

from __future__ import annotations

from collections.abc import Iterable

from issuewave.agents.base import Usage
from issuewave.store import AttemptRecord


def spent(attempts: Iterable[AttemptRecord]) -> Usage:
    total = Usage()
    for a in attempts:
        total = total + Usage(a.input_tokens, a.output_tokens, a.cached_tokens, a.cost_usd)
    return total


def exceeded(used: Usage, max_cost: float | None, max_tokens: int | None) -> str | None:
    """Why the budget is spent, or None while there is some left."""
    if max_cost is not None and used.cost_usd is not None and used.cost_usd >= max_cost:
        return f"${used.cost_usd:.2f} of ${max_cost:.2f}"
    if max_tokens is not None and used.total_tokens >= max_tokens:
        return f"{used.total_tokens} of {max_tokens} tokens"
    return None
