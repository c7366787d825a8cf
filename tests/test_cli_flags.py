"""Every configuration key is a flag: the options of plan, run and resume against `Config`.

The command lines are parsed by the real typer app's click commands; what they give goes through
the same `overrides` the CLI uses and into `load_config`, with no file or a file in tmp_path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer.core
import typer.main

from conftest import Project
from issuewave.cli import app
from issuewave.config import CONFIG_FILE, Config, load_config
from issuewave.flags import flag_of, overrides

# Each command's own options, written by hand in cli.py; everything else must be a key.
OWN = {
    "plan": {"as_json", "write", "ignore_missing"},
    "run": {"issues", "as_json", "plain", "ignore_missing", "allow_failing_baseline"},
    "resume": {"run_id", "retry_failed", "as_json", "plain"},
}
BUDGETS = {"max_cost", "max_tokens", "max_run_cost", "max_run_tokens"}

# One command line per key and the value it must give the loaded Config.
EVERY_KEY: dict[str, tuple[list[str], object]] = {
    "forge": (["--forge", "local"], "local"),
    "issues_dir": (["--issues-dir", "tickets"], "tickets"),
    "base": (["--base", "develop"], "develop"),
    "jobs": (["-j", "5"], 5),
    "agent": (["--agent", "claude"], "claude"),
    "agent_cmd": (["--agent-cmd", "tool {prompt_file}"], "tool {prompt_file}"),
    "test_cmd": (["--test-cmd", "make check"], "make check"),
    "tests_policy": (["--tests-policy", "strict"], "strict"),
    "test_reports": (["--test-reports", "target/*.xml"], ("target/*.xml",)),
    "timeout": (["--timeout", "30m"], 1800.0),
    "max_attempts": (["--max-attempts", "4"], 4),
    "worktree_dir": (["--worktree-dir", "trees"], "trees"),
    "branch": (["--branch", "topic/{number}-{slug}"], "topic/{number}-{slug}"),
    "commit": (["--commit", "fix #{number}"], "fix #{number}"),
    "pass_env": (["--pass-env", "HTTP_PROXY", "--pass-env", "LANG"], ("HTTP_PROXY", "LANG")),
    "model": (["--model", "big"], "big"),
    "agent_args": (["--agent-args", "--verbose"], ("--verbose",)),
    "full_auto": (["--full-auto"], True),
    "sandbox": (["--sandbox", "none"], "none"),
    "sandbox_network": (["--no-sandbox-network"], False),
    "max_cost": (["--max-cost", "2"], 2.0),
    "max_tokens": (["--max-tokens", "1000"], 1000),
    "max_run_cost": (["--max-run-cost", "7.5"], 7.5),
    "max_run_tokens": (["--max-run-tokens", "9000"], 9000),
    "remote": (["--remote", "upstream"], "upstream"),
    "repo": (["--repo", "owner/name"], "owner/name"),
    "api_url": (["--api-url", "https://git.example/api/v3"], "https://git.example/api/v3"),
    "labels": (["--label", "bug", "--label", "easy"], ("bug", "easy")),
    "milestone": (["--milestone", "12"], 12),
    "assignee": (["--assignee", "octocat"], "octocat"),
    "draft": (["--draft"], True),
    "stack": (["--stack"], True),
    "comment": (["--comment"], True),
    "trusted_authors": (["--trusted-authors", "bot"], ("bot",)),
    "require_label": (["--require-label", "ok-to-run"], "ok-to-run"),
}


def command(name: str) -> typer.core.TyperCommand:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    chosen = group.commands[name]
    assert isinstance(chosen, typer.core.TyperCommand)
    return chosen


def key_options(name: str) -> dict[str, typer.core.TyperOption]:
    """The command's options that are not its own, by parameter name."""
    options = [p for p in command(name).params if isinstance(p, typer.core.TyperOption)]
    return {p.name: p for p in options if p.name and p.name not in OWN[name]}


def parsed(name: str, argv: list[str]) -> dict[str, Any]:
    """What the command's options give for `argv`, without running the command."""
    context = command(name).make_context(name, list(argv))  # it consumes the list it is given
    return {key: value for key, value in context.params.items() if key not in OWN[name]}


def loaded(root: Path, argv: list[str], name: str = "run") -> Config:
    return load_config(root, overrides(parsed(name, argv)))


# --- the promise, by introspection -------------------------------------------------------------
def test_every_key_is_an_option_of_run_and_every_other_option_is_a_key() -> None:
    assert set(key_options("run")) == set(Config.model_fields)


def test_plan_takes_every_key_run_takes_and_resume_only_the_budgets() -> None:
    assert set(key_options("plan")) == set(Config.model_fields)
    assert set(key_options("resume")) == BUDGETS


@pytest.mark.parametrize("key", list(Config.model_fields))
def test_each_option_is_named_and_explained_as_its_key_declares(key: str) -> None:
    option = key_options("run")[key]
    flag = flag_of(Config.model_fields[key])
    assert option.help == flag.help
    assert option.default is None, "not given must leave the file's value standing"
    names = [*option.opts, *option.secondary_opts]
    if flag.names:
        assert "/".join(names) == "/".join(flag.names) or names == list(flag.names)
    else:
        assert names[0] == "--" + key.replace("_", "-")


def test_the_names_users_know_stay() -> None:
    options = key_options("run")
    assert options["labels"].opts == ["--label"]
    assert options["jobs"].opts == ["--jobs", "-j"]
    assert (options["full_auto"].opts, options["full_auto"].secondary_opts) == (
        ["--full-auto"],
        ["--safe"],
    )
    assert options["draft"].secondary_opts == ["--no-draft"]


# --- round trips: a flag's value ends up in the loaded Config ---------------------------------
def test_the_table_covers_every_key() -> None:
    assert set(EVERY_KEY) == set(Config.model_fields)


@pytest.mark.parametrize("key", list(EVERY_KEY))
def test_each_key_given_as_a_flag_reaches_the_config(key: str, tmp_path: Path) -> None:
    argv, expected = EVERY_KEY[key]
    assert getattr(loaded(tmp_path, argv), key) == expected


def test_all_keys_at_once_reach_the_config_through_plan_too(tmp_path: Path) -> None:
    argv = [word for line, _ in EVERY_KEY.values() for word in line]
    config = loaded(tmp_path, argv, name="plan")
    assert {key: getattr(config, key) for key in EVERY_KEY} == {
        key: expected for key, (_, expected) in EVERY_KEY.items()
    }


def test_overrides_keep_their_types_for_the_command_modules() -> None:
    given = overrides(parsed("run", ["--label", "a", "--milestone", "3", "--timeout", "90s"]))
    assert given["labels"] == ("a",)
    assert given["milestone"] == 3
    assert given["timeout"] == "90s", "the model reads durations, not the CLI"
    assert overrides(parsed("run", ["--milestone", "v1.0"]))["milestone"] == "v1.0"


def test_flags_not_given_leave_the_file_standing(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_text('jobs = 4\ndraft = true\nlabels = ["ui"]\n')
    assert (loaded(tmp_path, []).jobs, loaded(tmp_path, []).labels) == (4, ("ui",))
    config = loaded(tmp_path, ["--no-draft", "-j", "1"])
    assert (config.draft, config.jobs, config.labels) == (False, 1, ("ui",))


def test_resume_hands_on_only_the_budgets() -> None:
    given = overrides(parsed("resume", ["--max-cost", "3", "--max-run-tokens", "9"]))
    assert given == {"max_cost": 3.0, "max_tokens": None, "max_run_cost": None, "max_run_tokens": 9}


# --- through the real process ------------------------------------------------------------------
def test_plan_shows_the_branch_pattern_given_as_a_flag(project: Project) -> None:
    project.add_issue(1, "Add a parser")
    project.commit("issues")
    done = project.cli("plan", "--json", "--branch", "topic/{number}-{slug}")
    assert done.returncode == 0, done.stderr
    [entry] = json.loads(done.stdout)["issues"]
    assert entry["branch"] == "topic/1-add-a-parser"


def test_plan_without_the_flag_uses_the_file(project: Project) -> None:
    project.configure(branch="from-file/{number}")
    project.add_issue(1, "Add a parser")
    project.commit("issues")
    done = project.cli("plan", "--json", "-j", "1")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["issues"][0]["branch"] == "from-file/1"


def test_plan_refuses_a_bad_run_setting_as_run_would(project: Project) -> None:
    project.add_issue(1, "Add a parser")
    project.commit("issues")
    done = project.cli("plan", "--timeout", "soon")
    assert done.returncode == 2, done.stderr
    assert "bad value for 'timeout' in the command line" in done.stderr
