"""Parse and dispatch. Each subcommand lives in `issuewave.commands` and returns an exit code."""

from __future__ import annotations

import logging
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from issuewave import __version__
from issuewave.errors import BUG_EXIT_CODE, IssuewaveError
from issuewave.flags import config_options, overrides

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Drive AI coding agents through a backlog of issues, in dependency order, verified.",
)

Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Plain = Annotated[bool, typer.Option(help="Line-per-event progress instead of the live table.")]
IgnoreMissing = Annotated[
    bool, typer.Option(help="Plan even when an issue depends on one that does not exist.")
]


class ReportFormat(StrEnum):
    markdown = "markdown"
    json = "json"
    html = "html"


RunIdOption = Annotated[str | None, typer.Option("--run", help="A run id [default: the latest].")]


# The configuration keys' options are generated from their declarations in `issuewave.config`;
# only each command's own options are written here.
@app.command()
@config_options("plan")
def plan(
    as_json: Json = False,
    write: Annotated[Path | None, typer.Option(help="Write the execution plan (Markdown).")] = None,
    ignore_missing: IgnoreMissing = False,
    **settings: Any,
) -> None:
    """Show the waves, the critical path and each issue's branch; nothing is created."""
    from issuewave.commands.plan import plan as command

    _dispatch(
        command,
        cwd=Path.cwd(),
        overrides=overrides(settings),
        as_json=as_json,
        write=write,
        ignore_missing=ignore_missing,
    )


@app.command()
@config_options("run")
def run(
    issues: Annotated[list[int] | None, typer.Argument(help="Only these (and their deps).")] = None,
    as_json: Json = False,
    plain: Plain = False,
    ignore_missing: IgnoreMissing = False,
    allow_failing_baseline: Annotated[
        bool, typer.Option(help="Go on when tests fail on the base; only new failures count.")
    ] = False,
    **settings: Any,
) -> None:
    """Work through the open issues: worktrees, agents, verification, PR records, in order."""
    from issuewave.commands.run import run as command

    _dispatch(
        command,
        cwd=Path.cwd(),
        overrides=overrides(settings),
        only=issues or (),
        ignore_missing=ignore_missing,
        allow_failing_baseline=allow_failing_baseline,
        as_json=as_json,
        plain=plain,
    )


@app.command()
@config_options("resume")
def resume(
    run_id: RunIdOption = None,
    retry_failed: Annotated[
        bool, typer.Option(help="Also retry failed and blocked issues, with fresh attempts.")
    ] = False,
    as_json: Json = False,
    plain: Plain = False,
    **budgets: Any,
) -> None:
    """Continue an interrupted run without redoing or duplicating anything."""
    from issuewave.commands.resume import resume as command

    _dispatch(
        command,
        cwd=Path.cwd(),
        run_id=run_id,
        retry_failed=retry_failed,
        as_json=as_json,
        plain=plain,
        budgets=overrides(budgets),
    )


@app.command()
def status(run_id: RunIdOption = None, as_json: Json = False) -> None:
    """The state of the latest run; works while it runs in another terminal."""
    from issuewave.commands.status import status as command

    _dispatch(command, cwd=Path.cwd(), run_id=run_id, as_json=as_json)


@app.command()
def prs(as_json: Json = False) -> None:
    """The pull-request records, in the order they were opened."""
    from issuewave.commands.prs import prs as command

    _dispatch(command, cwd=Path.cwd(), as_json=as_json)


@app.command()
def rollback(
    issues: Annotated[list[int] | None, typer.Argument(help="Issue numbers.")] = None,
    failed: Annotated[bool, typer.Option(help="Every failed or blocked issue.")] = False,
    keep_branch: Annotated[bool, typer.Option(help="Keep the branch for manual fixes.")] = False,
) -> None:
    """Remove worktrees and branches, after saving each tip under refs/issuewave/backup/."""
    from issuewave.commands.rollback import rollback as command

    _dispatch(command, cwd=Path.cwd(), issues=issues or (), failed=failed, keep_branch=keep_branch)


@app.command()
def report(
    run_id: RunIdOption = None,
    as_json: Json = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file.")] = None,
    format: Annotated[
        ReportFormat | None,
        typer.Option(
            "--format", help="markdown, json (as --json) or html (self-contained charts)."
        ),
    ] = None,
) -> None:
    """The completion summary, every figure measured from the run's journal."""
    from issuewave.commands.report import report as command

    chosen = format.value if format else None
    _dispatch(command, cwd=Path.cwd(), run_id=run_id, as_json=as_json, output=output, format=chosen)


@app.command()
def demo(
    directory: Annotated[Path | None, typer.Argument(help="A new or empty folder.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Agents at once.")] = 3,
    plain: Plain = False,
) -> None:
    """Build a sample project with seven issues and run the whole pipeline on it."""
    from issuewave.commands.demo import demo as command

    _dispatch(command, directory=directory, jobs=jobs, plain=plain)


@app.command()
def check(
    as_json: Json = False,
    integration: Annotated[
        bool, typer.Option(help="Also merge them all and run the tests on the result.")
    ] = False,
    repair: Annotated[
        bool, typer.Option(help="Redo each conflicting branch on top of the other, by its agent.")
    ] = False,
) -> None:
    """Trial-merge the verified branches: which conflict, which overlap, do they work together."""
    from issuewave.commands.check import check as command

    _dispatch(command, cwd=Path.cwd(), as_json=as_json, integration=integration, repair=repair)


@app.command()
def logs(
    issue: Annotated[int, typer.Argument(help="The issue number.")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Follow while it runs.")] = False,
    attempt: Annotated[int | None, typer.Option(help="Which attempt [the latest].")] = None,
    tests: Annotated[bool, typer.Option(help="The test output instead of the agent's.")] = False,
) -> None:
    """Show (or follow) one issue's agent output in the latest run."""
    from issuewave.commands.logs import logs as command

    _dispatch(command, cwd=Path.cwd(), issue=issue, attempt=attempt, follow=follow, tests=tests)


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; any but loopback requires a token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")] = 8765,
) -> None:
    """The web dashboard: live run overview, one page per issue, past runs."""
    from issuewave.commands.serve import serve as command

    _dispatch(command, cwd=Path.cwd(), host=host, port=port)


@app.command()
def land(
    squash: Annotated[bool, typer.Option(help="One squashed commit per issue.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Print what would be merged.")] = False,
) -> None:
    """Merge the verified branches into the base branch in dependency order, tests after each."""
    from issuewave.commands.land import land as command

    _dispatch(command, cwd=Path.cwd(), squash=squash, dry_run=dry_run)


@app.command()
def clean(
    dry_run: Annotated[bool, typer.Option(help="Print what would be removed.")] = False,
) -> None:
    """Remove the worktrees of landed or rolled-back issues; never unsaved or unmerged work."""
    from issuewave.commands.clean import clean as command

    _dispatch(command, cwd=Path.cwd(), dry_run=dry_run)


@app.command()
def agents(as_json: Json = False) -> None:
    """Which agent CLIs are installed, credentials present, and the command issuewave runs."""
    from issuewave.commands.agents import agents as command

    _dispatch(command, cwd=Path.cwd(), as_json=as_json)


@app.command("doctor")
def doctor(as_json: Json = False) -> None:
    """The same as `issuewave agents`."""
    agents(as_json=as_json)


@app.callback(invoke_without_command=True)
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every command.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    if version:
        print(f"issuewave {__version__}")
        raise typer.Exit(0)


def _dispatch(command: Callable[..., int], **kwargs: Any) -> None:
    """Expected errors: a message and a hint. Ctrl-C: 130. Bugs: a log file with the traceback."""
    try:
        code = command(**kwargs)
    except IssuewaveError as exc:
        print(f"issuewave: {exc}", file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        print("issuewave: interrupted", file=sys.stderr)
        code = 130
    except Exception:
        code = _report_bug()
    raise typer.Exit(code)


def _report_bug() -> int:
    """A private log with a unique name: the traceback may show paths and values of the user's."""
    from issuewave.proc import quote, redact  # here, as the commands are: --help need not load it

    details = (
        f"issuewave {__version__}, Python {platform.python_version()}, {platform.platform()}\n"
        f"argv: {quote(sys.argv)}\n\n{traceback.format_exc()}"
    )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    handle, name = tempfile.mkstemp(prefix=f"issuewave-crash-{stamp}-", suffix=".log")  # 0600
    with os.fdopen(handle, "w", encoding="utf-8") as log:
        log.write(redact(details))  # a token given as a flag or raised in a message stays out
    print(f"issuewave: internal error; details written to {name}", file=sys.stderr)
    return BUG_EXIT_CODE


def main() -> None:
    app()
