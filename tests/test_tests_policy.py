"""Tests the agent cannot weaken, and hidden acceptance tests: real repositories, real pytest as
the project's test command, stand-in agents that edit files and exit.

The hostile agents break the code and then make the failing test stop failing: rewritten to
`assert True`, deleted, marked skipped, or switched off by a new conftest.py.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import sys
import urllib.request
from pathlib import Path

import pytest

from conftest import Project, git
from issuewave.findings import Findings

CALC = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
TESTS = (
    "from calc import add, sub\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_sub():\n    assert sub(5, 3) == 2\n"
)
# One stand-in agent; what it does depends on the issue it was given.
HOSTILE_AGENT = r"""
import os, pathlib
issue = os.environ["ISSUEWAVE_ISSUE"]
calc, tests = pathlib.Path("calc.py"), pathlib.Path("tests/test_calc.py")
broken_add = calc.read_text().replace("return a + b", "return a - b")
if issue == "1":  # breaks add, then rewrites its test to pass anyway
    calc.write_text(broken_add)
    tests.write_text(tests.read_text().replace("assert add(2, 3) == 5", "assert True"))
elif issue == "2":  # breaks sub, then deletes its test
    calc.write_text(calc.read_text().replace("return a - b", "return a * b"))
    text = tests.read_text()
    tests.write_text(text[: text.index("def test_sub")])
elif issue == "3":  # breaks add, then skips its test
    calc.write_text(broken_add)
    tests.write_text("import pytest\n" + tests.read_text().replace(
        "def test_add", "@pytest.mark.skip(reason='later')\ndef test_add"))
elif issue == "4":  # breaks add, then switches every test off
    calc.write_text(broken_add)
    pathlib.Path("conftest.py").write_text(
        "import pytest\n\ndef pytest_collection_modifyitems(items):\n"
        "    for item in items:\n        item.add_marker(pytest.mark.skip(reason='x'))\n")
else:  # a fair one: new code, a new test file, no existing test touched
    calc.write_text(calc.read_text() + "\n\ndef mul(a, b):\n    return a * b\n")
    pathlib.Path("tests/test_mul.py").write_text(
        "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n")
"""


def pytest_project(tmp_path: Path, name: str = "repo") -> Project:
    root, scratch = tmp_path / name, tmp_path / f"{name}-scratch"
    root.mkdir()
    scratch.mkdir()
    git(root, "init", "-q", "-b", "main")
    made = Project(root, scratch)
    made.write(".gitignore", "__pycache__/\n")
    made.write("calc.py", CALC)
    made.write("tests/test_calc.py", TESTS)
    made.configure(
        agent="command",
        agent_cmd=made.agent("agent", HOSTILE_AGENT),
        test_cmd=f"{sys.executable} -m pytest -q -p no:cacheprovider",
        jobs=2,
        timeout=120,
        max_attempts=1,
    )
    made.commit("a calculator and its tests")
    return made


def status_json(project: Project) -> dict[int, dict[str, object]]:
    done = project.cli("status", "--json")
    assert done.returncode == 0, done.stderr
    return {i["number"]: i for i in json.loads(done.stdout)["issues"]}


def findings_of(issue: dict[str, object]) -> Findings:
    data = issue["tests"]
    assert isinstance(data, dict), issue
    return Findings.from_json(data)


def pull_bodies(project: Project) -> dict[int, str]:
    done = project.cli("prs", "--json")
    assert done.returncode == 0, done.stderr
    return {p["issue"]: p["body"] for p in json.loads(done.stdout)}


def test_strict_fails_every_agent_that_weakens_a_test_and_passes_the_fair_one(
    tmp_path: Path,
) -> None:
    project = pytest_project(tmp_path)
    titles = ["Rewrite add's test", "Delete sub's test", "Skip add's test", "Skip everything"]
    for number, title in enumerate([*titles, "Add mul"], start=1):
        project.add_issue(number, title)
    project.commit("issues")
    done = project.cli("run", "--plain", "--tests-policy", "strict")
    assert done.returncode == 1, done.stderr
    issues = status_json(project)
    assert [issues[n]["status"] for n in range(1, 6)] == ["failed"] * 4 + ["succeeded"]
    reasons = {n: str(issues[n]["reason"]) for n in range(1, 5)}
    assert "test_add" in reasons[1] and "base version" in reasons[1]
    assert "tests/test_calc.py" in reasons[1]
    assert "removed tests.test_calc::test_sub" in reasons[2]
    assert "skipped tests.test_calc::test_add" in reasons[3]
    assert "skipped" in reasons[4] and "test_add" in reasons[4] and "conftest.py" in reasons[4]
    assert findings_of(issues[4]).changed_config == ("conftest.py",)
    fair = findings_of(issues[5])
    assert fair.weakened is False and fair.changed_tests == () and fair.changed_config == ()
    assert fair.ids == "JUnit XML" and fair.still_passing == 2
    assert "#5 tests" not in project.cli("status").stdout  # nothing to say about the fair one
    assert set(pull_bodies(project)) == {5}
    assert all(reason.startswith("existing tests weakened") for reason in reasons.values())


def test_review_passes_a_rewritten_test_and_says_so_in_the_pr_status_and_report(
    tmp_path: Path,
) -> None:
    project = pytest_project(tmp_path)
    project.add_issue(1, "Rewrite add's test")
    project.commit("issue")
    done = project.cli("run", "--plain")  # review is the default
    assert done.returncode == 0, done.stderr
    issue = status_json(project)[1]
    assert issue["status"] == "succeeded"
    found = findings_of(issue)
    assert found.changed_tests == ("tests/test_calc.py",)
    assert found.base_version is not None and not found.base_version.passed
    assert found.base_version.failing == ("tests.test_calc::test_add",)
    body = pull_bodies(project)[1]
    assert "## Tests" in body and "tests_policy review" in body
    assert "existing test files changed: tests/test_calc.py" in body
    assert "fail against the new code: tests.test_calc::test_add" in body
    status = project.cli("status").stdout
    assert "#1 tests: the base versions of the changed test files fail" in status
    assert "tests.test_calc::test_add" in status
    report = project.cli("report").stdout
    assert "## Tests" in report and "tests.test_calc::test_add" in report
    html = project.cli("report", "--format", "html").stdout
    assert "tests.test_calc::test_add" in html
    page = dashboard_page(
        project, f"runs/{json.loads(project.cli('status', '--json').stdout)['run']['id']}/issues/1"
    )
    assert "Tests (attempt 1)" in page and "tests.test_calc::test_add" in page


def dashboard_page(project: Project, path: str) -> str:
    """A page of a real `issuewave serve` (on loopback: no token)."""
    served = project.popen("serve", "--port", "0")
    try:
        assert served.stdout is not None
        address = served.stdout.readline().split()[-1]
        with urllib.request.urlopen(address + path, timeout=30) as answer:
            return str(answer.read().decode())
    finally:
        served.send_signal(signal.SIGINT)
        served.communicate(timeout=30)


def test_an_issue_built_on_a_dependency_is_held_to_what_passed_there(tmp_path: Path) -> None:
    """#2 deleted test_sub (review lets it through); #5, built on #2, is not blamed for it."""
    project = pytest_project(tmp_path)
    project.add_issue(2, "Delete sub's test")
    project.add_issue(5, "Add mul", depends_on=[2])
    project.commit("issues")
    done = project.cli("run", "--plain")
    assert done.returncode == 0, done.stderr
    issues = status_json(project)
    assert findings_of(issues[2]).removed == ("tests.test_calc::test_sub",)
    after = findings_of(issues[5])
    assert after.weakened is False and after.removed == ()
    assert after.still_passing == 1  # test_add: what passed at #2's head


def test_unknown_test_ids_are_said_once_and_only_the_exit_status_counts(project: Project) -> None:
    """The `project` fixture's runner prints no test names: nothing is pretended."""
    project.add_issue(1, "Anything")
    project.commit("issue")
    done = project.cli("run", "--plain", env={"AGENT_SLEEP": "0"})
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("test ids unknown: only the exit status is checked") == 1
    assert "test ids unknown: only the exit status is checked" in project.cli("status").stdout
    assert "test ids unknown: only the exit status is checked" in project.cli("report").stdout
    planned = project.cli("plan")
    assert "tests_policy review: test ids are read at the baseline run" in planned.stdout


# --- hidden acceptance tests ---------------------------------------------------------------------
HIDDEN_TEST = (
    "# HIDDEN-MARKER-4242\nfrom calc import mul\n\n\n"
    "def test_secret_acceptance_name():\n    assert mul(2, 3) == 6\n"
)
# Passes its own tests both times; its first mul is wrong in a way only the hidden test sees.
SEEING_AGENT = r"""
import json, os, pathlib
attempt = os.environ["ISSUEWAVE_ATTEMPT"]
seen = {
    "hidden_test": pathlib.Path("tests/test_accept_1.py").exists(),
    "acceptance_folder": pathlib.Path(".issuewave/acceptance").exists(),
    "prompt": pathlib.Path(os.environ["ISSUEWAVE_PROMPT_FILE"]).read_text(),
    "feedback": pathlib.Path(os.environ.get("ISSUEWAVE_FEEDBACK_FILE") or os.devnull).read_text(),
}
pathlib.Path(SCRATCH, f"seen-{attempt}.json").write_text(json.dumps(seen))
body = "a + b" if attempt == "1" else "a * b"
pathlib.Path("calc.py").write_text(pathlib.Path("calc.py").read_text().split("\n\ndef mul")[0]
                                   + f"\n\ndef mul(a, b):\n    return {body}\n")
pathlib.Path("tests/test_mul.py").write_text(
    "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 2) == 4\n")
"""


def hidden_project(tmp_path: Path) -> Project:
    project = pytest_project(tmp_path)
    agent = SEEING_AGENT.replace("SCRATCH", repr(str(project.scratch)))
    # It records what it saw outside its workspace, which the sandbox forbids (test_hostile
    # shows the sandbox hiding the acceptance folder).
    project.configure(agent_cmd=project.agent("seeing", agent), max_attempts=2, sandbox="none")
    project.add_issue(1, "Add mul")
    project.commit("issue")
    project.write(".issuewave/acceptance/1/tests/test_accept_1.py", HIDDEN_TEST)  # untracked
    return project


def test_hidden_acceptance_tests_reject_an_attempt_without_telling_the_agent_what_they_are(
    tmp_path: Path,
) -> None:
    project = hidden_project(tmp_path)
    planned = project.cli("plan")
    assert "#1 has hidden acceptance tests: 1 file in .issuewave/acceptance/1/" in planned.stdout
    assert "HIDDEN-MARKER" not in planned.stdout and "mul(2, 3)" not in planned.stdout

    done = project.cli("run", "--plain")
    assert done.returncode == 0, done.stderr
    seen = [json.loads((project.scratch / f"seen-{n}.json").read_text()) for n in (1, 2)]
    assert not any(s["hidden_test"] or s["acceptance_folder"] for s in seen)  # never in reach
    for secret in ("test_secret_acceptance_name", "HIDDEN-MARKER-4242", "test_accept_1", "6"):
        assert secret not in seen[1]["feedback"]
        assert secret not in seen[1]["prompt"].split("## Your previous attempt")[1]
    assert "hidden acceptance tests failed" in seen[1]["prompt"]
    assert seen[1]["feedback"].strip() == "hidden acceptance tests failed"

    run_dir = next((project.root / ".git" / "issuewave" / "runs").iterdir())
    first = run_dir / "issue-1" / "attempt-1"
    assert "test_secret_acceptance_name" not in (first / "tests.log").read_text()
    hidden_logs = sorted((run_dir / "hidden").glob("*.log"))
    assert len(hidden_logs) == 2 and "1 failed" in hidden_logs[0].read_text()
    assert not [p for p in (run_dir / "hidden").iterdir() if p.is_dir() and "reports" not in p.name]
    attempts = attempt_rows(project)
    assert attempts[0]["reason"] == "hidden acceptance tests failed"
    hidden = Findings.loads(attempts[0]["test_findings"])
    assert hidden is not None and hidden.hidden is not None
    assert hidden.hidden.failing == ("tests.test_accept_1::test_secret_acceptance_name",)
    status = project.cli("status").stdout
    assert "#1 tests: hidden acceptance tests (1 file) passed" in status
    assert not (project.root / ".worktrees" / "issue-1" / "tests" / "test_accept_1.py").exists()


def attempt_rows(project: Project) -> list[dict[str, object]]:
    with sqlite3.connect(project.root / ".git" / "issuewave" / "state.db") as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM attempts ORDER BY issue, number").fetchall()
    return [dict(r) for r in rows]


@pytest.mark.parametrize("command", ["plan", "run"])
def test_tracked_acceptance_tests_are_refused_before_anything_is_created(
    tmp_path: Path, command: str
) -> None:
    project = hidden_project(tmp_path)
    project.commit("oops: the hidden tests committed")
    done = project.cli(command)
    assert done.returncode == 2, done.stderr
    assert ".issuewave/acceptance/" in done.stderr
    assert "git rm -r --cached .issuewave/acceptance" in done.stderr
    assert ".gitignore" in done.stderr
    assert git(project.root, "branch", "--list", "feature/*") == ""
    assert not (project.root / ".worktrees").exists()
    assert not (project.root / ".git" / "issuewave" / "runs").exists()


# Passes its own tests, and skips any test it did not write: the hidden ones among them.
SKIPPING_AGENT = r"""
import pathlib
pathlib.Path("calc.py").write_text(pathlib.Path("calc.py").read_text()
                                   + "\n\ndef mul(a, b):\n    return a + b\n")
pathlib.Path("tests/test_mul.py").write_text(
    "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 2) == 4\n")
pathlib.Path("conftest.py").write_text(
    "import pytest\n\nMINE = ('test_calc.py', 'test_mul.py')\n\n"
    "def pytest_collection_modifyitems(items):\n"
    "    for item in items:\n"
    "        if item.path.name not in MINE:\n"
    "            item.add_marker(pytest.mark.skip(reason='not mine'))\n")
"""


def test_hidden_tests_the_code_under_test_skips_have_not_passed(tmp_path: Path) -> None:
    project = hidden_project(tmp_path)
    project.configure(agent_cmd=project.agent("skipping", SKIPPING_AGENT), max_attempts=1)
    git(project.root, "commit", "-q", "-a", "-m", "the skipping agent")  # hidden tests untracked
    done = project.cli("run", "--plain")
    assert done.returncode == 1
    issue = status_json(project)[1]
    assert (issue["status"], issue["reason"]) == ("failed", "hidden acceptance tests failed")
    hidden = findings_of(issue).hidden
    assert hidden is not None and not hidden.passed
    assert hidden.failing == ("tests.test_accept_1::test_secret_acceptance_name",)
