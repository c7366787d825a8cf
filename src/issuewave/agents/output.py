"""Reading agents' machine-readable output: JSON Lines streams and single JSON documents.

Agent output is untrusted and sometimes broken: a malformed line is logged and skipped, never fatal,
and a value of the wrong type reads as absent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any

log = logging.getLogger("issuewave.agents")


def json_lines(text: str, agent: str) -> Iterator[dict[str, Any]]:
    """Each line that holds a JSON object; anything else is logged and skipped."""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError:
            log.warning("%s: line %d of its output is not JSON; skipped", agent, number)
            continue
        if isinstance(value, dict):
            yield value


def json_document(text: str, agent: str) -> dict[str, Any] | None:
    """A whole-output JSON object (possibly after log lines): the last object that parses."""
    try:
        value = json.loads(text)
        return value if isinstance(value, dict) else None
    except json.JSONDecodeError:
        objects = list(json_lines(text, agent))
        return objects[-1] if objects else None


def get_int(data: Mapping[str, Any] | None, *keys: str) -> int:
    """The first key holding a whole number (bools excluded); 0 when none does."""
    for key in keys:
        value = (data or {}).get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return 0


def get_float(data: Mapping[str, Any] | None, *keys: str) -> float | None:
    for key in keys:
        value = (data or {}).get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def get_str(data: Mapping[str, Any] | None, *keys: str) -> str | None:
    for key in keys:
        value = (data or {}).get(key)
        if isinstance(value, str) and value:
            return value
    return None


def get_dict(data: Mapping[str, Any] | None, key: str) -> dict[str, Any]:
    value = (data or {}).get(key)
    return value if isinstance(value, dict) else {}
