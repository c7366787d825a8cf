"""`issuewave demo`: a sample project, seven issues, the whole pipeline, with the `demo` agent.

The demo agent is a deterministic stand-in for an AI agent: it applies changes prepared for each
issue (and gets one of them wrong on its first attempt, to show verification and retry at work).
"""

from __future__ import annotations

import importlib.util
import shlex
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from issuewave.errors import InputError, PrecheckError
from issuewave.files import write_atomically
from issuewave.git import init_repository
from issuewave.project import open_project
from issuewave.report import html, markdown
from issuewave.report.metrics import compute
from issuewave.ui import say
from issuewave.wave import WaveOptions, start_wave


def demo(*, directory: Path | None = None, jobs: int = 3, plain: bool = False) -> int:
    if importlib.util.find_spec("pytest") is None:
        raise PrecheckError(
            "the demo's sample project is tested with pytest, which is not installed",
            hint="pip install 'issuewave[demo]' (make demo does this)",
        )
    target = _empty_folder(directory)
    _build_project(target, jobs)
    say(f"demo project: {target}\n")
    code = start_wave(open_project(target), WaveOptions(plain=plain))
    _show_results(target)
    return code


def _empty_folder(directory: Path | None) -> Path:
    if directory is None:
        return Path(tempfile.mkdtemp(prefix="issuewave-demo-")).resolve()
    target = directory.resolve()
    if target.exists() and any(target.iterdir()):
        raise InputError(
            f"{target} is not empty: the demo builds its project in a new folder",
            hint="name a new or empty folder, or leave DIR out for a temporary one",
        )
    target.mkdir(parents=True, exist_ok=True)
    return target


def _build_project(target: Path, jobs: int) -> None:
    data = resources.files("issuewave") / "demo_data"
    with resources.as_file(data) as source:
        shutil.copytree(source / "project", target, dirs_exist_ok=True)
        shutil.copytree(source / "issues", target / ".issuewave" / "issues")
    test_cmd = shlex.join([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"])
    (target / ".issuewave.toml").write_text(
        "# Written by `issuewave demo`: the built-in demo agent and the project's pytest suite.\n"
        f'agent = "demo"\njobs = {jobs}\nmax_attempts = 2\ntimeout = "2m"\n'
        f"test_cmd = {_toml_string(test_cmd)}\n",
        encoding="utf-8",
    )
    init_repository(target).commit_all("Initial commit: the notebook sample project and its issues")


def _toml_string(text: str) -> str:
    return "'" + text + "'" if "'" not in text else '"' + text.replace('"', '\\"') + '"'


def _show_results(target: Path) -> None:
    project = open_project(target)
    run = project.store.latest_run()
    if run is None:
        return
    figures = compute(project.store, run)
    charts_path = target / "issuewave-report.html"
    attempts = project.store.attempts(run.id)
    write_atomically(charts_path, html.render(figures, attempts, project="notebook (demo)"))
    text = markdown.render(figures, project="notebook (demo)", html_report=charts_path.name)
    report_path = target / "issuewave-report.md"
    write_atomically(report_path, text)
    print(text)
    say(
        "where everything is:\n"
        f"  project and main checkout  {target}\n"
        f"  one workspace per issue    {project.worktree_root}/issue-N (branches feature/issue-N)\n"
        f"  state store (SQLite)       {project.store.path}\n"
        f"  agent and test logs        {project.store.home / 'runs' / run.id}\n"
        f"  this report                {report_path}\n"
        f"  its charts                 {charts_path}\n"
        f"  the dashboard              cd {shlex.quote(str(target))} && issuewave serve\n"
        f"  look around                cd {shlex.quote(str(target))} && issuewave status && "
        "issuewave prs"
    )
