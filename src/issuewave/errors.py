"""Expected errors: one short message, the next command to run, and an exit code.

Anything that is not an `IssuewaveError` is a bug: the CLI writes a log with the traceback and
exits 3, so a script can tell a bug from a refusal or a failed issue (1) and bad input (2).
Ctrl-C exits 130.
"""

from __future__ import annotations

BUG_EXIT_CODE = 3


class IssuewaveError(Exception):
    """A failure the user can act on; `hint` names what to do next."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n  → {self.hint}"


class InputError(IssuewaveError):
    """Bad usage or bad input (configuration, issue files, the dependency graph): exit 2."""

    exit_code = 2


class PrecheckError(IssuewaveError):
    """A `run` pre-check failed before anything was created: exit 1."""
