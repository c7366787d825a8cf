"""The aider adapter against a stand-in `aider` printing aider's scripting-mode console output."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import standin
from issuewave.agents.aider import AiderAgent, count
from issuewave.agents.base import AgentReport, AgentSettings, Usage, allowed_environment

SCRIPTING = [
    "--yes-always",
    "--no-auto-commits",
    "--no-gitignore",
    "--no-pretty",
    "--no-stream",
    "--no-check-update",
    "--no-show-release-notes",
    "--no-analytics",
    "--no-detect-urls",
]
BANNER = """\
Aider v0.86.1
Main model: anthropic/claude-sonnet-4-20250514 with diff edit format, infinite output
Weak model: anthropic/claude-3-5-haiku-20241022
Git repo: .git with 12 files
Repo-map: using 4096 tokens, auto refresh

"""
# Two replies: the model asks for a file, aider adds it (its name printed), the model edits.
SUCCESS = (
    BANNER
    + """\
To add the parser I need to edit this file:

src/parser.py

Please add it to the chat.

Tokens: 2.3k sent, 1.1k cache write, 12k cache hit, 150 received.
Cost: $0.01 message, $0.01 session.

src/parser.py
I'll add `parse()`, which skips blank lines,
and a test for the empty input.

src/parser.py
```python
<<<<<<< SEARCH
=======
def parse(text):
    return [line for line in text.splitlines() if line]
>>>>>>> REPLACE
```

tests/test_parser.py
```python
<<<<<<< SEARCH
=======
from parser import parse

def test_empty():
    assert parse("") == []
>>>>>>> REPLACE
```

Tokens: 3.4k sent, 13k cache hit, 210 received. Cost: $0.0049 message, $0.02 session.
Applied edit to src/parser.py
Applied edit to tests/test_parser.py
"""
)
AUTH_ERROR = (
    BANNER
    + """\
litellm.AuthenticationError: AnthropicException - {"type":"error","error":{"type":\
"authentication_error","message":"invalid x-api-key"}}
The API provider is not able to authenticate you. Check your API key.
"""
)
# A retried error, then the reply: aider recovered.
RECOVERED = (
    BANNER
    + """\
litellm.InternalServerError: AnthropicException - Overloaded
The API provider's servers are down or overloaded.
Retrying in 0.2 seconds...
Done: `parse()` is in src/parser.py.

Tokens: 812 sent, 95 received.
Applied edit to src/parser.py
"""
)


def run(tmp_path: Path, step: standin.Step, **context: Any) -> tuple[AgentReport, standin.StandIn]:
    fake = standin.install(tmp_path, "aider", [step])
    fake.put_first_on_path()
    return standin.run_agent(AiderAgent(), standin.context(tmp_path, **context)), fake


def only_call(fake: standin.StandIn) -> dict[str, object]:
    calls = fake.calls()
    assert len(calls) == 1
    return calls[0]


def history(folder: Path) -> list[str]:
    return [
        "--chat-history-file",
        str(folder / "aider.chat.history.md"),
        "--input-history-file",
        str(folder / "aider.input.history"),
    ]


def test_first_attempt_sends_the_prompt_file_in_scripting_mode(tmp_path: Path) -> None:
    report, fake = run(tmp_path, standin.Step(SUCCESS))
    call = only_call(fake)
    ctx = standin.context(tmp_path)
    assert call["argv"] == ["--message-file", str(ctx.prompt_file), *SCRIPTING, *history(tmp_path)]
    assert call["stdin"] == ""
    assert Path(str(call["cwd"])).resolve() == ctx.worktree.resolve()
    env = call["env"]
    assert isinstance(env, dict)
    assert env["BROWSER"] == "true"
    assert env["COLUMNS"] == "10000"
    assert report.succeeded


def test_full_auto_is_the_same_command_aider_has_no_broader_mode(tmp_path: Path) -> None:
    _, fake = run(tmp_path, standin.Step(SUCCESS), settings=AgentSettings(full_auto=True))
    argv = only_call(fake)["argv"]
    assert isinstance(argv, list)
    assert argv[2 : 2 + len(SCRIPTING)] == SCRIPTING


def test_model_then_extra_arguments_come_last(tmp_path: Path) -> None:
    settings = AgentSettings(model="sonnet", extra_args=("--map-tokens", "2048"))
    _, fake = run(tmp_path, standin.Step(SUCCESS), settings=settings)
    argv = only_call(fake)["argv"]
    assert isinstance(argv, list)
    assert argv[-4:] == ["--model", "sonnet", "--map-tokens", "2048"]


def test_retry_is_a_fresh_run_of_the_prompt_that_carries_the_feedback(tmp_path: Path) -> None:
    prompt = "# Issue #7: Add a parser\n\n## Your previous attempt was not accepted\n\nfailed\n"
    report, fake = run(
        tmp_path, standin.Step(SUCCESS), attempt=2, resume_session="ignored", prompt=prompt
    )
    call = only_call(fake)
    prompt_file = tmp_path / "prompt-2.md"
    assert call["argv"] == ["--message-file", str(prompt_file), *SCRIPTING, *history(tmp_path)]
    assert prompt_file.read_text() == prompt
    assert report.session_id is None


def test_success_sums_the_token_lines_and_keeps_the_session_cost(tmp_path: Path) -> None:
    report, _ = run(tmp_path, standin.Step(SUCCESS))
    assert report.succeeded
    assert report.error is None
    # 2.3k + 3.4k sent, 150 + 210 received, 12k + 13k cache hits; the last session figure.
    assert report.usage == Usage(5700, 360, 25000, 0.02)
    assert report.final_message == (
        "I'll add `parse()`, which skips blank lines,\nand a test for the empty input."
    )


def test_a_reply_without_a_price_has_tokens_and_no_cost(tmp_path: Path) -> None:
    report, _ = run(tmp_path, standin.Step(RECOVERED))
    assert report.usage == Usage(812, 95, 0, None)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [("150", 150), ("2.3k", 2300), ("12k", 12000), ("1.5M", 1_500_000), ("3x", 0), ("", 0)],
)
def test_counts_read_aiders_suffixes(text: str, tokens: int) -> None:
    assert count(text) == tokens


def test_an_api_error_fails_even_with_exit_zero(tmp_path: Path) -> None:
    report, _ = run(tmp_path, standin.Step(AUTH_ERROR, exit=0))
    assert not report.succeeded
    assert report.error is not None
    assert report.error.startswith("litellm.AuthenticationError: AnthropicException")
    assert report.error.endswith(
        "The API provider is not able to authenticate you. Check your API key."
    )
    assert report.usage == Usage()


def test_an_error_that_a_retry_recovered_from_is_not_a_failure(tmp_path: Path) -> None:
    report, _ = run(tmp_path, standin.Step(RECOVERED))
    assert report.succeeded
    assert report.error is None
    assert report.final_message == "Done: `parse()` is in src/parser.py."


def test_giving_up_after_the_last_reply_is_a_failure(tmp_path: Path) -> None:
    out = (
        SUCCESS
        + "The LLM did not conform to the edit format.\nOnly 3 reflections allowed, stopping.\n"
    )
    report, _ = run(tmp_path, standin.Step(out))
    assert not report.succeeded
    assert report.error == "Only 3 reflections allowed, stopping."


def test_a_non_zero_exit_is_a_failure_aider_never_exits_one_after_recovering(
    tmp_path: Path,
) -> None:
    # In --message-file mode aider exits 0 after any chat; 1 means it never started one.
    report, _ = run(tmp_path, standin.Step(BANNER + "Message file not found: x.md\n", exit=1))
    assert not report.succeeded
    report, _ = run(tmp_path / "again", standin.Step(SUCCESS, exit=1))
    assert not report.succeeded
    assert report.usage.input_tokens == 5700


def test_colour_codes_and_unknown_lines_are_skipped(tmp_path: Path) -> None:
    noisy = "\x1b[33mWarning: it's best to only add files that need changes to the chat.\x1b[0m\n"
    report, _ = run(tmp_path, standin.Step(noisy + "\x00garbage\n" + SUCCESS))
    assert report.succeeded
    assert report.usage.output_tokens == 360


def test_only_allowlisted_variables_and_its_credentials_reach_it(tmp_path: Path) -> None:
    fake = standin.install(tmp_path, "aider", [standin.Step(SUCCESS)])
    fake.put_first_on_path()
    os.environ.update(DATABASE_PASSWORD="hunter2", ANTHROPIC_API_KEY="sk-ant-for-aider")
    agent = AiderAgent()
    standin.run_agent(agent, standin.context(tmp_path), allowed_environment(agent.credentials))
    env = only_call(fake)["env"]
    assert isinstance(env, dict)
    assert "DATABASE_PASSWORD" not in env
    assert env["ANTHROPIC_API_KEY"] == "sk-ant-for-aider"
    assert env["ISSUEWAVE_ISSUE"] == "7"
