"""`aider`: aider's scripting mode, read from its plain-text console output.

Invocation from aider's docs, "Scripting aider" and "Options reference" (aider.chat/docs/
config/options.html): `--message-file` sends one message, applies the edits and exits;
`--yes-always` answers every confirmation. aider has no JSON output and no session id. What it
prints comes from its source (aider/coders/base_coder.py, aider/utils.py, aider/exceptions.py),
since the docs only show samples:

- after each model reply, `Tokens: 2.3k sent, 1.1k cache write, 12k cache hit, 150 received.`, the
  cache parts only when non-zero, counts written by `format_tokens` (under 1000 exact, `9.9k`
  under 10000, then rounded `12k`: an approximation above 1000, so the sums here are too); then,
  when the model's price is known, `Cost: $0.01 message, $0.02 session.` on the same line or, when
  both cache parts are present, on the next one; small costs carry more decimals (`$0.0012`);
- on an API error it gives up on, the exception's text (`litellm.AuthenticationError: ...`) and a
  short description (`The API provider is not able to authenticate you. Check your API key.`),
  and no token line after them; a retried error is followed by `Retrying in 0.5 seconds...`
  and, once the retry works, by a token line; `Model ... has hit a token limit!` and `Only 3
  reflections allowed, stopping.` also end a run that went wrong;
- in `--message`/`--message-file` mode it exits 0 after the chat, whatever happened in it: the exit
  code is non-zero only when aider could not start (bad arguments, unreadable message file, no
  model). Hence the errors are read from its output, and a non-zero exit is always a failure
  (aider never exits 1 after recovering).

Choices, each for an attempt that must not leave traces issuewave did not ask for:
- `--no-auto-commits`: issuewave commits what the agent leaves (its message names the issue, its
  identity is the user's); aider's commits would add a model call for each commit message, which no
  token line reports, and rewrite the author name with "(aider)".
- `--no-gitignore`, and the chat and input histories kept next to the prompt, outside the
  worktree: otherwise aider adds `.aider*` to `.gitignore` or leaves history files, and issuewave's
  commit would take them. aider's repo-map cache (`.aider.tags.cache.v4/`) has no option and
  still lands in the worktree.
- `--no-analytics`, `--no-detect-urls`, and `BROWSER=true`: `--yes-always` would otherwise accept
  aider's offers to turn analytics on for good, to fetch URLs named in the issue, and to open
  documentation pages in a browser after an error.
- `--no-pretty --no-stream`: plain lines without colour, each reply printed whole (aider's own note:
  litellm prices non-streamed replies); `COLUMNS=10000`, since aider prints through rich, which
  wraps at 80 columns off a terminal and would split a token line.

Permission: aider edits files directly, in the worktree it runs in. `--yes-always` lets it create
files and add files to the chat, and declines every shell command it suggests (aider asks for those
with an explicit yes, which `--yes-always` answers with no), so aider never runs commands; the tests
are issuewave's to run. It does accept aider's offers to `pip install` a missing helper package.
There is no broader mode: `full_auto` changes nothing.

Resume: aider has no session to resume. A retry is a fresh run of the full prompt, which carries
the feedback; the worktree still holds the previous attempt's edits, and the previous chat is not
restored (`--restore-chat-history` would re-read a markdown transcript and send it again).

Credentials: the API key variables aider's docs name ("API Keys", "Connecting to LLMs": OpenAI,
Anthropic, Gemini, DeepSeek, OpenRouter, xAI, Groq, Azure). Endpoint variables such as
`OPENAI_API_BASE` or `AZURE_API_BASE` are settings, not secrets: name them in `pass_env`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from issuewave.agents.base import AgentReport, AttemptContext, Usage
from issuewave.agents.spec import AgentSpec, CliAgent, Prompt

_COUNT = r"(\d+(?:\.\d+)?[kKmM]?)"
TOKENS_LINE = re.compile(
    rf"^Tokens: {_COUNT} sent(?:, {_COUNT} cache write)?(?:, {_COUNT} cache hit)?, "
    rf"{_COUNT} received\."
)
COST = re.compile(r"Cost: \$(\d+(?:\.\d+)?) message, \$(\d+(?:\.\d+)?) session\.")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SUFFIX = {"": 1, "k": 1_000, "m": 1_000_000}

# What aider prints when the model call failed for good (aider/exceptions.py, base_coder.py).
ERROR_LINE = re.compile(r"^litellm\.\w+:")
ERROR_TEXTS = (
    "The API provider is not able to authenticate you.",
    "The API provider has rate limited you.",
    "The API provider's servers are down or overloaded.",
    "The API provider has refused the request",
    "The API provider timed out without returning a response.",
    "has hit a token limit!",
    "reflections allowed, stopping.",
    "No model specified and no API key found",
)
# aider's own lines around the model's reply; the rest of a reply's block is the reply.
STATUS_PREFIXES = (
    "Aider v",
    "Model:",
    "Models:",
    "Main model:",
    "Weak model:",
    "Editor model:",
    "Git repo:",
    "Repo-map:",
    "Applied edit to",
    "Cost:",
    "Warning",
    "Retrying in",
    "https://aider.chat/",
    "Restored previous conversation history.",
    "Use /help",
)
ADDED = re.compile(r"^Added .+ to the chat\.$")
FENCE = re.compile(r"^\s*(```|~~~)")
# A file name alone on its line: an edit block's header, or a file aider added to the chat.
FILE_NAME = re.compile(r"^[\w.-]+(/[\w.-]+)*\.\w+$")


SPEC = AgentSpec(
    name="aider",
    program="aider",
    credentials=(
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "GEMINI_API_KEY",
        "DEEPSEEK_API_KEY",
        "OPENROUTER_API_KEY",
        "XAI_API_KEY",
        "GROQ_API_KEY",
        "AZURE_API_KEY",
    ),
    state_dirs=("~/.aider",),  # its caches, analytics settings and helper installs
    # aider's repo-map cache has no option to move it; keep it out of the branch.
    scratch_patterns=(".aider*",),
    # The prompt file of a retry already carries the feedback: aider starts afresh each time.
    prompt=Prompt.FILE,
    prompt_flag="--message-file",
    headless=(
        "--yes-always",
        "--no-auto-commits",
        "--no-gitignore",
        "--no-pretty",
        "--no-stream",
        "--no-check-update",
        "--no-show-release-notes",
        "--no-analytics",
        "--no-detect-urls",
    ),
    env={
        # Python's webbrowser runs $BROWSER: `true` takes the URL and opens nothing.
        "BROWSER": "true",
        # rich wraps aider's lines at $COLUMNS (80 off a terminal): keep each report on one line.
        "COLUMNS": "10000",
    },
)
# Kept next to the prompt, outside the worktree, so issuewave's commit never takes them.
HISTORY = (
    ("--chat-history-file", "aider.chat.history.md"),
    ("--input-history-file", "aider.input.history"),
)


class AiderAgent(CliAgent):
    spec = SPEC

    def context_args(self, ctx: AttemptContext) -> tuple[str, ...]:
        folder = ctx.prompt_file.parent
        return tuple(arg for flag, name in HISTORY for arg in (flag, str(folder / name)))

    def read_output(self, stdout: str, exit_code: int | None) -> AgentReport:
        console = AiderConsole.read(stdout)
        error = console.error()
        return AgentReport(
            exit_code == 0 and error is None,
            console.final_message(),
            None,
            console.usage(),
            error,
        )


@dataclass
class AiderConsole:
    """aider's output, split at its token lines: one block of lines per model reply."""

    lines: list[str]
    token_lines: list[int] = field(default_factory=list)

    @classmethod
    def read(cls, stdout: str) -> AiderConsole:
        lines = [ANSI.sub("", line).rstrip() for line in stdout.splitlines()]
        console = cls(lines)
        console.token_lines = [i for i, line in enumerate(lines) if TOKENS_LINE.match(line)]
        return console

    def usage(self) -> Usage:
        total = Usage()
        for index in self.token_lines:
            match = TOKENS_LINE.match(self.lines[index])
            if match:
                sent, _write, hit, received = match.groups()
                total = total + Usage(count(sent), count(received), count(hit))
        return Usage(total.input_tokens, total.output_tokens, total.cached_tokens, self._cost())

    def _cost(self) -> float | None:
        # The session figure of the last report is the run's total: aider sums it across replies.
        costs = [m for line in self.lines if (m := COST.search(line))]
        return float(costs[-1].group(2)) if costs else None

    def error(self) -> str | None:
        """The error lines printed after the last token line: a failure aider did not recover."""
        start = self.token_lines[-1] + 1 if self.token_lines else 0
        found = [line.strip() for line in self.lines[start:] if is_error(line)]
        unique = list(dict.fromkeys(found))
        return " ".join(unique[-2:]) if unique else None

    def final_message(self) -> str:
        """The prose of the last reply: its lines before its token line, code blocks left out."""
        if not self.token_lines:
            return ""
        end = self.token_lines[-1]
        begin = self.token_lines[-2] + 1 if len(self.token_lines) > 1 else 0
        block = self.lines[begin:end]
        starts = [i + 1 for i, line in enumerate(block) if is_status(line)]
        return prose(block[max(starts, default=0) :])


def count(text: str | None) -> int:
    """`150`, `2.3k`, `12k` (aider's rounding) or `1.2M` as a number of tokens."""
    if not text:
        return 0
    suffix = text[-1].lower() if text[-1].isalpha() else ""
    number = text[:-1] if suffix else text
    try:
        return round(float(number) * SUFFIX[suffix])
    except (ValueError, KeyError):
        return 0


def is_error(line: str) -> bool:
    stripped = line.strip()
    return bool(ERROR_LINE.match(stripped)) or any(text in stripped for text in ERROR_TEXTS)


def is_status(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(STATUS_PREFIXES) or bool(ADDED.match(stripped))


def prose(lines: Sequence[str]) -> str:
    """The lines outside fenced blocks (aider's edits) and file names, blank runs collapsed."""
    kept: list[str] = []
    inside = False
    for line in lines:
        if FENCE.match(line):
            inside = not inside
        elif inside or FILE_NAME.match(line.strip()):
            continue
        elif line.strip() or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip()
