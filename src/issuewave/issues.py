"""The Issue model, shared by every forge, the planner and the prompts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from issuewave.types import IssueNumber

IssueState = Literal["open", "closed"]


@dataclass(frozen=True)
class Issue:
    """One unit of work. `depends_on` is the union of every dependency the forge could read."""

    number: IssueNumber
    title: str
    body: str = ""
    labels: tuple[str, ...] = ()
    depends_on: tuple[IssueNumber, ...] = ()
    state: IssueState = "open"
    # Where the issue came from (a file path or URL), so errors can name it.
    source: str = field(default="", compare=False)
    # The folder of its hidden acceptance tests, relative to the repository root, where the issue
    # names one (a local issue file's `acceptance:`); None: .issuewave/acceptance/<number>.
    acceptance: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state == "open"
