"""A retry through the `codex` adapter, against a stand-in `codex` on PATH.

Codex 0.17x reports a resumed thread's running total in `turn.completed.usage`: the report must
count each attempt's own tokens, never attempt 1 twice.
"""

from __future__ import annotations

import json

import standin
from conftest import Project
from standin import Step, jsonl


def codex_says(thread: str, text: str, *, fresh_input: int, cached: int, output: int) -> str:
    """`codex exec --json`: the thread, the reply, and the usage of the thread so far."""
    return jsonl(
        {"type": "thread.started", "thread_id": thread},
        {"type": "turn.started"},
        {"type": "item.completed", "item": {"id": "i0", "type": "agent_message", "text": text}},
        {
            "type": "turn.completed",
            "usage": {
                "input_tokens": fresh_input + cached,  # OpenAI counts cached input inside it
                "cached_input_tokens": cached,
                "output_tokens": output,
            },
        },
    )


def test_a_resumed_thread_is_counted_per_attempt_not_twice(project: Project) -> None:
    project.write(
        "checks/test_answer.py", "import answer\nassert answer.VALUE == 42, answer.VALUE\n"
    )
    project.write("answer.py", "VALUE = 42\n")
    project.add_issue(1, "Change the answer")
    project.commit("answer")
    wrong = Step(codex_says("th-1", "Done.", fresh_input=1000, cached=200, output=100),
                 files={"answer.py": "VALUE = 41\n"})  # fmt: skip
    # The resumed thread's running total: attempt 1's figures plus 300 / 50 / 40 of its own.
    right = Step(codex_says("th-1", "Fixed.", fresh_input=1300, cached=250, output=140),
                 files={"answer.py": "VALUE = 42  # fixed\n"})  # fmt: skip
    codex = standin.install(project.scratch, "codex", [wrong, right])
    codex.put_first_on_path()
    project.configure(agent="codex")

    done = project.cli("run", "--plain")

    assert done.returncode == 0, done.stderr
    second = list(codex.calls()[1]["argv"])  # type: ignore[call-overload]
    assert second[second.index("resume") + 1] == "th-1"  # the retry resumed the thread
    report = json.loads(project.cli("report", "--json").stdout)
    (issue,) = report["issues"]
    assert issue["attempts"] == 2
    assert issue["tokens"] == {"input": 1300, "output": 140, "cached": 250}
    assert report["run"]["tokens"] == {"input": 1300, "output": 140, "cached": 250}
