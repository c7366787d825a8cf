"""Where commands speak: results on stdout (rich, no highlighting), progress and notes on stderr."""

from __future__ import annotations

import sys

from rich.console import Console

out = Console(highlight=False, soft_wrap=True)


def say(message: str) -> None:
    print(message, file=sys.stderr)
