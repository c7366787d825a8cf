"""`issuewave run`: the whole wave over the open issues (or the chosen ones and their
dependencies), after pre-flight checks that create nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from issuewave.project import open_project
from issuewave.wave import start_wave


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
    project = open_project(cwd, overrides)
    return start_wave(project, only=only, ignore_missing=ignore_missing,
                      allow_failing_baseline=allow_failing_baseline, as_json=as_json,
                      plain=plain)  # fmt: skip
