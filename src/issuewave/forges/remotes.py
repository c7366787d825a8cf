"""Remote URLs: which host and repository a git remote points at. Light on purpose: it is read on
every run to choose the forge, without importing a forge's client."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlparse

if TYPE_CHECKING:
    from issuewave.config import Config

# https://host/owner/repo(.git), ssh://git@host(:port)/owner/repo.git, git://…, and the
# scp-like git@host:owner/repo.git; credentials in the URL are skipped, never kept.
_URL_FORM = re.compile(
    r"^(?:https?|ssh|git)://(?:[^@/]+@)?(?P<host>[^/:@]+)(?::\d*)?/(?P<path>.+)$"
)
_SCP_FORM = re.compile(r"^(?:[^@/]+@)?(?P<host>[^/:@]+):(?P<path>[^/].*)$")
_REPO_PATH = re.compile(
    r"^/?(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)/(?P<repo>[A-Za-z0-9._-]+?)(?:\.git)?/?$"
)


def parse_remote(url: str, host: str = "github.com") -> tuple[str, str] | None:
    """(owner, repo) of a remote URL on `host` (github.com, or an Enterprise host), else None."""
    for form in (_URL_FORM, _SCP_FORM):
        match = form.match(url.strip())
        if match and match.group("host").lower() == host.lower():
            path = _REPO_PATH.match(match.group("path"))
            if path is None or path.group("repo") in {".", ".."}:
                return None
            return path.group("owner"), path.group("repo")
    return None


def is_github_remote(url: str, host: str = "github.com") -> bool:
    return parse_remote(url, host) is not None


def github_host(api_url: str | None) -> str:
    """github.com, or the GitHub Enterprise host that `api_url` names."""
    return urlparse(api_url).hostname or "github.com" if api_url else "github.com"


def claims_for_github(url: str, config: Config) -> bool:
    return is_github_remote(url, github_host(config.api_url))
