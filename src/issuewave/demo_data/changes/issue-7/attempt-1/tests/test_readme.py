"""The README's usage example must keep working: run every python block in it."""

import re
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def test_readme_has_a_usage_section():
    assert "## Usage" in README.read_text(encoding="utf-8")


def test_readme_examples_run(tmp_path, monkeypatch):
    # The example writes files: keep them out of the project.
    monkeypatch.chdir(tmp_path)
    blocks = PYTHON_BLOCK.findall(README.read_text(encoding="utf-8"))
    assert blocks
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})
    assert (tmp_path / "notes.json").exists()
    assert (tmp_path / "work.json").exists()
