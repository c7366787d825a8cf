"""The package's shape: commands are leaves, and no module imports its way round in a circle.

Imports are read from the source (function-level ones included: they hid a cycle once); those
under `if TYPE_CHECKING:` are for the type checker only and never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "issuewave"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    module_name(path): path
    for path in PACKAGE.rglob("*.py")
    if "demo_data" not in path.relative_to(PACKAGE).parts
}


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if _type_checking_only(node):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _import_nodes(node)


def imports_of(name: str, source: str | None = None) -> set[str]:
    """The package's modules that `name` imports (its file, or `source` in its place)."""
    tree = ast.parse(source if source is not None else MODULES[name].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif node.module is not None and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
    return {m for m in found if m in MODULES and m != name}


def test_the_import_reader_sees_function_level_imports_and_skips_type_checking_ones() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from issuewave import proc\n"
        "import issuewave.git\n"
        "if TYPE_CHECKING:\n    from issuewave.store import Store\n"
        "def later() -> None:\n    from issuewave.commands.run import run\n"
    )
    found = imports_of("issuewave.commands.plan", source)
    assert found == {"issuewave.proc", "issuewave.git", "issuewave.commands.run"}


@pytest.mark.parametrize(
    "command", sorted(m for m in MODULES if m.startswith("issuewave.commands."))
)
def test_a_command_imports_no_other_command(command: str) -> None:
    others = {m for m in imports_of(command) if m.startswith("issuewave.commands")}
    assert not others, f"{command} imports {sorted(others)}: move what they share to a service"


def test_the_package_has_no_import_cycle() -> None:
    graph = {name: imports_of(name) for name in MODULES}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        pytest.fail(f"import cycle: {' → '.join(exc.args[1])}")
