"""The GitHub token: GITHUB_TOKEN, else GH_TOKEN, else what `gh auth token` prints.

Once found it is registered with `proc` as a secret (from `gh` it is in no variable that
redaction knows), and githubkit gets it wrapped in a strategy whose repr hides it.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from pathlib import Path

from githubkit import TokenAuthStrategy

from issuewave import proc
from issuewave.errors import IssuewaveError, PrecheckError

log = logging.getLogger("issuewave.github")

TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")


def resolve_token(
    environ: Mapping[str, str], *, host: str = "github.com", cwd: Path | None = None
) -> str:
    """GITHUB_TOKEN, else GH_TOKEN, else what `gh auth token` prints when gh is installed."""
    for name in TOKEN_VARIABLES:
        if value := environ.get(name, "").strip():
            return value
    program = shutil.which("gh", path=environ.get("PATH", ""))
    if program is not None and (token := _gh_token(program, environ, host, cwd or Path.cwd())):
        return token
    asked = "`gh auth token` printed none" if program else "gh (the GitHub CLI) is not installed"
    raise PrecheckError(
        f"no GitHub token: GITHUB_TOKEN and GH_TOKEN are not set, and {asked}",
        hint="export GITHUB_TOKEN (or GH_TOKEN), or install the GitHub CLI and run `gh auth login`",
    )


def masked_token(environ: Mapping[str, str], *, host: str, cwd: Path) -> str:
    """The resolved token, masked in every log of this process from here on."""
    token = resolve_token(environ, host=host, cwd=cwd)
    proc.add_secret(token)
    return token


def _gh_token(program: str, environ: Mapping[str, str], host: str, cwd: Path) -> str | None:
    argv = [program, "auth", "token", *([] if host == "github.com" else ["--hostname", host])]
    try:
        done = proc.run(argv, cwd=cwd, env=proc.clean_env(environ), check=False, timeout=30)
    except IssuewaveError as exc:  # gh hung or vanished: as good as no token
        log.debug("gh auth token failed: %s", exc)
        return None
    token = done.stdout.strip()
    return token if done.returncode == 0 and token else None


class SecretToken(TokenAuthStrategy):
    """githubkit's token strategy, without the token in its (dataclass) repr."""

    def __repr__(self) -> str:
        return "TokenAuthStrategy(token='***')"
