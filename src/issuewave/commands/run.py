"""`issuewave run`: the whole wave over the open issues (or the chosen ones and their
dependencies), after pre-flight checks that create nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from issuewave.project import open_project
from issuewave.wave import WaveOptions, start_wave


def run(
    *,
    cwd: Path,
    overrides: Mapping[str, Any],
    only: Sequence[int] = (),
    ignore_missing: bool = False,
    allow_failing_baseline: bool = False,
    as_json: bool = False,
    plain: bool = False,
) -> int:
    options = WaveOptions(tuple(only), ignore_missing, allow_failing_baseline, as_json, plain)
    return start_wave(open_project(cwd, overrides), options)
