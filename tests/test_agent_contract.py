"""The contract every registered agent keeps, whatever its CLI (the per-CLI facts are in
test_agent_invocations.py and test_agent_transcripts.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import standin
from issuewave.agents.base import Agent, AgentSettings
from issuewave.agents.registry import AGENTS
from issuewave.config import Config

CLIS = ["claude", "codex", "amp", "gemini", "opencode", "cursor", "aider", "goose", "copilot"]
# Whose success is a closing event: without one, even an exit 0 is a failure that says why.
CLOSING_EVENT = ["claude", "codex", "amp", "gemini", "opencode", "cursor"]
GARBAGE = 'Traceback (most recent call last):\n{"type": \n\x1b[31mboom\x1b[0m\n'


def make(name: str) -> Agent:
    return AGENTS[name](Config(agent_cmd="my-agent --issue {issue} {prompt_file}"))


def test_the_registry_holds_every_cli_and_command_and_demo() -> None:
    assert sorted(AGENTS) == sorted([*CLIS, "command", "demo"])


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_it_declares_its_data(name: str) -> None:
    agent = make(name)
    assert agent.name == name
    for data in (
        agent.credentials,
        agent.credential_files,
        agent.state_dirs,
        agent.scratch_patterns,
    ):
        assert isinstance(data, tuple)
        assert all(isinstance(item, str) and item for item in data)
    # Files and folders are in the home folder, named as the CLI's docs name them.
    assert all(path.startswith("~/") for path in agent.credential_files + agent.state_dirs)


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_its_invocation_runs_its_program_with_the_issue_variables(
    tmp_path: Path, name: str
) -> None:
    agent = make(name)
    for settings in (AgentSettings(), AgentSettings("some-model", ("--flag",), full_auto=True)):
        invocation = agent.invocation(standin.context(tmp_path, settings=settings))
        assert invocation.argv[0] == agent.program()
        assert all(isinstance(arg, str) for arg in invocation.argv)
        assert invocation.env["ISSUEWAVE_ISSUE"] == "7"
        assert invocation.stdin_file is None or invocation.stdin_file.is_file()


def test_programs_are_the_cli_names_or_the_configured_one() -> None:
    programs = {name: make(name).program() for name in AGENTS}
    assert programs == {
        **{name: name for name in CLIS},
        "cursor": "cursor-agent",
        "command": "my-agent",
        "demo": sys.executable,
    }


@pytest.mark.parametrize("name", sorted(AGENTS))
@pytest.mark.parametrize("stdout", ["", GARBAGE])
@pytest.mark.parametrize("exit_code", [1, None])
def test_empty_or_garbage_output_of_a_failed_process_is_a_failure(
    name: str, stdout: str, exit_code: int | None
) -> None:
    report = make(name).read_output(stdout, exit_code)
    assert not report.succeeded
    assert report.usage.total_tokens == 0


@pytest.mark.parametrize("name", CLOSING_EVENT)
@pytest.mark.parametrize("stdout", ["", GARBAGE])
def test_without_its_closing_event_an_exit_zero_fails_and_says_why(name: str, stdout: str) -> None:
    report = make(name).read_output(stdout, 0)
    assert not report.succeeded
    assert report.error is not None and report.error.startswith(f"{name} exited 0 ")
    stopped = make(name).read_output(stdout, None)
    assert stopped.error is not None and stopped.error.startswith(f"{name} was stopped ")


@pytest.mark.parametrize("name", CLIS)
def test_only_allowlisted_variables_and_its_credentials_reach_it(tmp_path: Path, name: str) -> None:
    agent = make(name)
    own = {variable: f"value-of-{variable}" for variable in agent.credentials}
    os.environ.update({"DATABASE_PASSWORD": "hunter2", "GITHUB_TOKEN": "ghp_not_for_agents", **own})
    ctx = standin.context(tmp_path)
    step = standin.Step(standin.transcript(name, "success"))
    _, call = standin.run_once(tmp_path, agent, step, ctx, allowlisted=True)
    env = call["env"]
    assert isinstance(env, dict)
    assert "DATABASE_PASSWORD" not in env
    # A GitHub token reaches only the agent whose credential it is (copilot).
    assert ("GITHUB_TOKEN" in env) == ("GITHUB_TOKEN" in agent.credentials)
    assert {variable: env.get(variable) for variable in own} == own
    assert env["ISSUEWAVE_ISSUE"] == "7"
