"""`issuewave serve`: the web dashboard, on 127.0.0.1 unless told otherwise.

Bound to any address but loopback, it asks for a random access token, printed once at start:
a run's prompts, diffs and agent output are not for whoever shares the network.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
from pathlib import Path

import uvicorn
from pydantic import ValidationError

from issuewave.agents.base import Agent
from issuewave.agents.registry import make_agent
from issuewave.errors import InputError, IssuewaveError
from issuewave.project import open_project
from issuewave.runs import run_config
from issuewave.store import RunRecord
from issuewave.web.app import Site, create_app

DEFAULT_PORT = 8765


def serve(*, cwd: Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> int:
    project = open_project(cwd)
    listener = _listen(host, port)
    loopback = ipaddress.ip_address(listener.getsockname()[0]).is_loopback
    token = None if loopback else secrets.token_urlsafe(24)
    site = Site(project.root.name, project.store, project.git, _agent_for)
    app = create_app(site, token=token, loopback=loopback)
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{listener.getsockname()[1]}/"
    print(f"issuewave dashboard: {address}" + (f"?token={token}" if token else ""), flush=True)
    if token:
        print("  bound beyond this machine: requests without the token are refused", flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
    uvicorn.Server(config).run(sockets=[listener])
    return 0


def _listen(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as unknown:
        hint = "give --host an address of this machine, such as 127.0.0.1"
        raise InputError(f"cannot listen on {host!r}: {unknown.strerror}", hint=hint) from unknown
    listener = socket.socket(family, kind, proto)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(address)
    except OSError as refused:
        listener.close()
        hint = "choose another --port (0 picks a free one)"
        raise InputError(
            f"cannot listen on {host}:{port}: {refused.strerror}", hint=hint
        ) from refused
    listener.listen(128)
    return listener


def _agent_for(run: RunRecord) -> Agent | None:
    """The run's agent adapter, to read its output; None when the run's settings no longer load."""
    try:
        return make_agent(run_config(run))
    except (IssuewaveError, ValidationError):
        return None
