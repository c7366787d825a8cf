"""Every forge issuewave can work with, by name: a literal dict, one line a forge.

A forge is opened from a `ForgeSite` (the repository, its settings and the state folder) and may
claim a remote URL, so that a repository on its host uses it without being told. Its module is
imported only when the forge is used: githubkit, for one, loads only for GitHub.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from issuewave.errors import InputError
from issuewave.forges import remotes
from issuewave.forges.base import Forge
from issuewave.git import Git
from issuewave.store import Store

if TYPE_CHECKING:  # the configuration names a forge from FORGES, so it imports this module
    from issuewave.config import Config


@dataclass(frozen=True)
class ForgeSite:
    """What a forge is opened with."""

    git: Git  # the main checkout
    config: Config
    store: Store

    @property
    def root(self) -> Path:
        return self.git.cwd

    def path(self, configured: str) -> Path:
        """A configured path, read against the repository root: absolute from here on."""
        return (self.root / configured).resolve()


@dataclass(frozen=True)
class ForgeKind:
    # "module:function" of the opener, imported on first use.
    opener: str
    # Whether a remote URL belongs to this forge (its host), with the configuration's say.
    claims: Callable[[str, Config], bool] = lambda url, config: False

    def open(self, site: ForgeSite) -> Forge:
        module, _, function = self.opener.partition(":")
        opened: Forge = getattr(importlib.import_module(module), function)(site)
        return opened


FORGES: dict[str, ForgeKind] = {
    "local": ForgeKind("issuewave.forges.local:open_forge"),
    "github": ForgeKind("issuewave.forges.github:open_forge", claims=remotes.claims_for_github),
}
DEFAULT_FORGE = "local"


def forge_kind(name: str) -> ForgeKind:
    kind = FORGES.get(name)
    if kind is None:
        raise InputError(f"unknown forge {name!r}", hint=f"choose one of: {', '.join(FORGES)}")
    return kind


def claiming(url: str | None, config: Config) -> str:
    """The forge whose host the remote is on, else the local one."""
    if url is None:
        return DEFAULT_FORGE
    return next((name for name, kind in FORGES.items() if kind.claims(url, config)), DEFAULT_FORGE)
