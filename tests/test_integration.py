"""Parallel branches that pass alone but collide: found by `check`, right after the run."""

from __future__ import annotations

import json

from conftest import Project, git

EDITING_AGENT = """
    import os, pathlib
    issue = os.environ["ISSUEWAVE_ISSUE"]
    edits = {EDITS}
    for path, text in edits.get(issue, {{}}).items():
        pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(path).write_text(text)
"""


def editing_agent(project: Project, edits: dict[str, dict[str, str]]) -> str:
    return project.agent(
        "editor", EDITING_AGENT.replace("{EDITS}", repr(edits)).replace("{{}}", "{}")
    )


def check_json(project: Project, *args: str) -> dict[str, object]:
    done = project.cli("check", "--json", *args)
    return {"exit": done.returncode, **json.loads(done.stdout)}


def test_siblings_editing_the_same_lines_conflict_and_the_run_says_so(project: Project) -> None:
    project.write("shared.txt", "one\ntwo\nthree\n")
    project.add_issue(1, "Left")
    project.add_issue(2, "Right")
    project.commit("issues")
    agent = editing_agent(project, {"1": {"shared.txt": "ONE\ntwo\nthree\n"},
                                    "2": {"shared.txt": "uno\ntwo\nthree\n"}})  # fmt: skip
    done = project.cli("run", "--agent-cmd", agent, "--plain")
    assert done.returncode == 0, done.stderr  # each passes alone
    assert "conflict: #1 and #2 both change shared.txt" in done.stderr
    result = check_json(project)
    assert result["exit"] == 1
    assert result["conflicts"] == [{"a": 1, "b": 2, "files": ["shared.txt"]}]
    assert result["overlaps"] == []
    report = json.loads(project.cli("report", "--json").stdout)
    assert report["run"]["conflicts"] == [{"a": 1, "b": 2, "files": ["shared.txt"]}]
    assert "#1 and #2" in project.cli("status").stdout
    assert "conflict in shared.txt" in project.cli("plan").stdout


def test_different_parts_of_one_file_overlap_without_conflict(project: Project) -> None:
    project.write("shared.txt", "".join(f"line {n}\n" for n in range(20)))
    project.add_issue(1, "Top")
    project.add_issue(2, "Bottom")
    project.commit("issues")
    lines = [f"line {n}\n" for n in range(20)]
    top = "".join(["TOP\n", *lines[1:]])
    bottom = "".join([*lines[:-1], "BOTTOM\n"])
    agent = editing_agent(project, {"1": {"shared.txt": top}, "2": {"shared.txt": bottom}})
    assert project.cli("run", "--agent-cmd", agent).returncode == 0
    result = check_json(project)
    assert result["exit"] == 0
    assert result["conflicts"] == []
    assert result["overlaps"] == [{"a": 1, "b": 2, "files": ["shared.txt"]}]


def test_dependent_branches_are_not_reported_against_each_other(project: Project) -> None:
    project.write("shared.txt", "v0\n")
    project.add_issue(1, "First")
    project.add_issue(2, "Second", body="Depends on #1")
    project.commit("issues")
    agent = editing_agent(project, {"1": {"shared.txt": "v1\n"}, "2": {"shared.txt": "v2\n"}})
    assert project.cli("run", "--agent-cmd", agent).returncode == 0
    result = check_json(project)
    assert result["conflicts"] == [] and result["overlaps"] == []


def test_integration_names_the_merge_after_which_tests_broke(project: Project) -> None:
    # Each branch adds one plugin; the suite allows only one: alone each passes, together not.
    project.write("checks/test_plugins.py", (
        "import pathlib\n"
        "plugins = list(pathlib.Path('plugins').glob('*.txt'))\n"
        "assert len(plugins) <= 1, plugins\n"
    ))  # fmt: skip
    project.add_issue(1, "Plugin A")
    project.add_issue(2, "Unrelated docs")
    project.add_issue(3, "Plugin B")
    project.commit("issues")
    agent = editing_agent(project, {"1": {"plugins/a.txt": "a"}, "2": {"docs.md": "docs"},
                                    "3": {"plugins/b.txt": "b"}})  # fmt: skip
    assert project.cli("run", "--agent-cmd", agent).returncode == 0
    main_before = git(project.root, "rev-parse", "main")
    result = check_json(project, "--integration")
    assert result["exit"] == 1
    integration = result["integration"]
    assert integration["passed"] is False  # type: ignore[index]
    assert integration["broken_by"] == 3  # type: ignore[index]
    assert git(project.root, "rev-parse", "main") == main_before  # nothing landed
    assert git(project.root, "status", "--porcelain") == ""
    worktrees = git(project.root, "worktree", "list")
    assert "issuewave/integration" not in worktrees  # the temporary worktree is gone


def test_integration_passes_when_branches_work_together(project: Project) -> None:
    project.add_issue(1, "A")
    project.add_issue(2, "B", body="Depends on #1")
    project.commit("issues")
    agent = editing_agent(project, {"1": {"a.txt": "a"}, "2": {"b.txt": "b"}})
    assert project.cli("run", "--agent-cmd", agent).returncode == 0
    result = check_json(project, "--integration")
    assert result["exit"] == 0
    assert result["integration"]["passed"] is True  # type: ignore[index]
    assert result["integration"]["merged"] == [1, 2]  # type: ignore[index]


REPAIRING_AGENT = """
    import os, pathlib
    issue = os.environ["ISSUEWAVE_ISSUE"]
    feedback = os.environ.get("ISSUEWAVE_FEEDBACK_FILE")
    shared = pathlib.Path("shared.txt")
    if feedback and "conflicted with" in pathlib.Path(feedback).read_text():
        shared.write_text(shared.read_text() + f"line of {issue}\\n")  # on top of the other's
    else:
        shared.write_text(f"header\\nline of {issue}\\n")
"""


def test_repair_redoes_the_conflicting_branch_on_top_of_the_other(project: Project) -> None:
    project.write("shared.txt", "header\n")
    project.add_issue(1, "Left")
    project.add_issue(2, "Right")
    project.commit("issues")
    agent = project.agent("repairer", REPAIRING_AGENT)
    assert project.cli("run", "--agent-cmd", agent).returncode == 0
    old_tip = git(project.root, "rev-parse", "feature/issue-2")
    assert check_json(project)["exit"] == 1

    done = project.cli("check", "--repair", env={})
    assert done.returncode == 0, done.stderr
    assert git(project.root, "show", "feature/issue-2:shared.txt") == (
        "header\nline of 1\nline of 2"
    )
    backups = git(project.root, "for-each-ref", "--format=%(objectname)",
                  "refs/issuewave/backup/feature/issue-2/")  # fmt: skip
    assert old_tip in backups.splitlines()  # the first version was saved before the rebase
    assert check_json(project)["conflicts"] == []
    records = json.loads(project.cli("prs", "--json").stdout)
    assert sorted(r["issue"] for r in records) == [1, 2]  # updated, not duplicated
    body = next(r["body"] for r in records if r["issue"] == 2)
    assert "Depends on #1" in body
    assert project.cli("check", "--integration").returncode == 0
