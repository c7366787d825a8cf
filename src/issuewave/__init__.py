"""issuewave: drive AI coding agents through a backlog of issues, in dependency order, verified."""

__version__ = "0.1.0"
