"""What a GitHub forge is told, as data: which issues, whose, how PRs look, how calls are paced."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Repository:
    owner: str
    name: str

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class Selection:
    """Which issues to read: filters, or explicit numbers (then the filters do not apply)."""

    labels: tuple[str, ...] = ()  # issues carrying all of them
    milestone: int | str | None = None  # its number (as in its URL), its exact title, or "*"
    assignee: str | None = None  # a login, or "*" for any assignee
    numbers: tuple[int, ...] = ()


@dataclass(frozen=True)
class Trust:
    """Whose issues may reach an agent: trusted logins, OWNER/MEMBER/COLLABORATOR, or a label."""

    authors: tuple[str, ...] = ()
    require_label: str | None = None  # only people with triage rights can add a label


@dataclass(frozen=True)
class Publishing:
    labels: tuple[str, ...] = ()  # added to every PR
    copy_issue_labels: bool = True  # the issue's labels too, as the local forge records them
    draft: bool = False
    head_owner: str | None = None  # a fork's owner when the branches live there


@dataclass(frozen=True)
class Pacing:
    """How calls are spaced and retried. Tests pass a fake `sleep` and `clock`."""

    mutation_interval: float = 1.0  # GitHub asks for a second between content-creating calls
    max_attempts: int = 5
    backoff: float = 1.0  # first wait after a server error or timeout; doubles each time
    max_backoff: float = 30.0
    max_wait: float = 900.0  # a longer rate-limit wait is an error instead of a silent stall
    timeout: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
