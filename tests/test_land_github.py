"""`issuewave land` on GitHub: PRs merged through the API in dependency order, stacked PRs
re-pointed before their base branch is deleted, stops at a refusing PR, resumable, --squash
rebases what was stacked. The fake GitHub on 127.0.0.1 over a real bare `origin`."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from githubkit import GitHub
from githubkit.exception import RequestFailed
from githubkit_schemas.latest.models import PullRequest, PullRequestMergeResult

from conftest import Project, git
from fake_github import Call, FakeGitHub, fake_github
from issuewave.forges.base import Landing, PullRequestDraft
from issuewave.forges.github import GitHubForge, Pacing, RemotePull
from issuewave.git import Git
from issuewave.issues import Issue
from issuewave.store import RunRecord, Store, TaskRecord
from issuewave.types import BranchName, IssueNumber, RunId

__all__ = ["fake_github"]  # the fixture, imported for pytest

REPO = "/repos/octo/widgets"


def on_github(project: Project, fake: FakeGitHub, tmp_path: Path) -> dict[str, str]:
    """A bare `origin` the fake merges in for real, and the project configured for it."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(project.root, "remote", "add", "origin", str(origin))
    git(project.root, "push", "-q", "origin", "main")
    fake.repository = origin
    project.configure(forge="github", repo=fake.full_name, api_url=fake.url, labels=["wave"])
    return {"GITHUB_TOKEN": fake.token, "AGENT_SLEEP": "0"}


def run_stacked_chain(project: Project, fake: FakeGitHub, tmp_path: Path) -> dict[str, str]:
    """#1 ← #2 ← #3, run with --stack: #2's PR is based on #1's branch, #3's on #2's."""
    env = on_github(project, fake, tmp_path)
    fake.add_issue(1, "Lower", labels=["wave"])
    fake.add_issue(2, "Middle", "Depends on #1", labels=["wave"])
    fake.add_issue(3, "Upper", "Depends on #2", labels=["wave"])
    done = project.cli("run", "--plain", "--stack", env=env)
    assert done.returncode == 0, done.stderr
    assert [fake.pulls[pr(fake, n)]["base"] for n in (1, 2, 3)] == [
        "main",
        "feature/issue-1",
        "feature/issue-2",
    ]
    return env


def pr(fake: FakeGitHub, issue: int) -> int:
    """The number GitHub gave the PR of an issue's branch."""
    return next(n for n, p in fake.pulls.items() if p["head"] == f"feature/issue-{issue}")


def merge_call(fake: FakeGitHub, issue: int, method: str = "merge") -> Call:
    return Call("PUT", f"{REPO}/pulls/{pr(fake, issue)}/merge", f"merge_method={method}")


def repoint_call(fake: FakeGitHub, issue: int) -> Call:
    return Call("PATCH", f"{REPO}/pulls/{pr(fake, issue)}", "base=main")


def delete_call(issue: int) -> Call:
    return Call("DELETE", f"{REPO}/git/refs/heads/feature/issue-{issue}")


def landing_calls(fake: FakeGitHub, method: str = "merge") -> list[Call]:
    """Merge the lower, re-point the one stacked on it, only then delete the lower's branch."""
    return [
        merge_call(fake, 1, method),
        repoint_call(fake, 2),
        delete_call(1),
        merge_call(fake, 2, method),
        repoint_call(fake, 3),
        delete_call(2),
        merge_call(fake, 3, method),
        delete_call(3),
    ]


def assert_main_holds_the_stack(origin: Path) -> None:
    files = git(origin, "ls-tree", "-r", "--name-only", "main", "work/").splitlines()
    assert files == ["work/issue-1.txt", "work/issue-2.txt", "work/issue-3.txt"]


def assert_squashed_stack(
    project: Project, fake: FakeGitHub, tips: dict[int, str], commits_before: int
) -> None:
    """Each stacked branch rebased without the lower's commits (old tip backed up), then one
    squashed commit per issue on main, each with a single parent."""
    origin = fake.repository
    assert origin is not None
    for lower, upper in ((1, 2), (2, 3)):
        pushed = fake.pulls[pr(fake, upper)]["merged_head"]
        assert pushed != tips[upper]  # rebased and force-pushed before its merge
        assert tips[lower] not in git(origin, "rev-list", pushed).split()
        backups = git(project.root, "for-each-ref", "--format=%(objectname)",
                      f"refs/issuewave/backup/feature/issue-{upper}/")  # fmt: skip
        assert backups.split() == [tips[upper]]
    assert int(git(origin, "rev-list", "--count", "main")) == commits_before + 3
    assert git(origin, "rev-list", "--merges", "main") == ""
    assert_main_holds_the_stack(origin)


def pr_states(project: Project) -> dict[int, str]:
    return {r["issue"]: r["state"] for r in json.loads(project.cli("prs", "--json").stdout)}


def api_calls(project: Project, env: dict[str, str]) -> int:
    return int(json.loads(project.cli("report", "--json", env=env).stdout)["run"]["api_calls"])


def test_land_merges_a_stack_in_order_re_pointing_before_deleting(
    project: Project, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    env = run_stacked_chain(project, fake_github, tmp_path)
    origin = fake_github.repository
    assert origin is not None
    main_before = git(origin, "rev-parse", "main")
    before = len(fake_github.mutations())
    calls_before = api_calls(project, env)

    plan = project.cli("land", "--dry-run", env=env)
    assert plan.returncode == 0, plan.stderr
    assert f"#1: would merge PR #{pr(fake_github, 1)} (feature/issue-1 → main)" in plan.stderr
    assert f"then point PR #{pr(fake_github, 2)} at main" in plan.stderr
    assert len(fake_github.mutations()) == before  # a dry run changes nothing
    assert git(origin, "rev-parse", "main") == main_before
    assert set(pr_states(project).values()) == {"open"}

    done = project.cli("land", env=env)
    assert done.returncode == 0, done.stderr
    assert fake_github.mutations()[before:] == landing_calls(fake_github)
    assert all(p["merged"] and p["state"] == "closed" for p in fake_github.pulls.values())
    assert_main_holds_the_stack(origin)
    assert git(origin, "branch", "--list", "feature/*") == ""
    # GitHub closed the issues through "Closes #N"; land closed nothing itself.
    assert all(fake_github.issues[("octo/widgets", n)].state == "closed" for n in (1, 2, 3))
    assert not [c for c in fake_github.mutations() if "/issues/" in c.path and c.method == "PATCH"]
    assert pr_states(project) == {1: "merged", 2: "merged", 3: "merged"}
    assert api_calls(project, env) >= calls_before + len(landing_calls(fake_github))

    again = project.cli("land", env=env)
    assert again.returncode == 0, again.stderr
    assert "merged already" in again.stderr
    assert fake_github.count("PUT", f"{REPO}/pulls/") == 3  # nothing merged twice


def test_a_failing_required_check_stops_the_landing_and_a_rerun_goes_on(
    project: Project, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    env = run_stacked_chain(project, fake_github, tmp_path)
    fake_github.fail_check(pr(fake_github, 2))
    before = len(fake_github.mutations())

    stopped = project.cli("land", env=env)
    assert stopped.returncode == 1
    assert 'Required status check "ci" is failing' in stopped.stderr
    assert f"landing stops at PR #{pr(fake_github, 2)}" in stopped.stderr
    assert fake_github.mutations()[before:] == [
        merge_call(fake_github, 1),
        repoint_call(fake_github, 2),
        delete_call(1),
        merge_call(fake_github, 2),  # refused
    ]
    upper = fake_github.pulls[pr(fake_github, 3)]
    assert upper["state"] == "open" and upper["base"] == "feature/issue-2"  # untouched
    assert pr_states(project) == {1: "merged", 2: "open", 3: "open"}

    fake_github.fail_check(pr(fake_github, 2), None)
    resumed = project.cli("land", env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert (
        fake_github.mutations()[before:]
        == [
            *landing_calls(fake_github)[:3],
            merge_call(fake_github, 2),  # the refused one
            *landing_calls(fake_github)[3:],
        ]
    )
    assert fake_github.count("PUT", f"{REPO}/pulls/{pr(fake_github, 1)}/merge") == 1
    assert all(p["merged"] for p in fake_github.pulls.values())
    assert pr_states(project) == {1: "merged", 2: "merged", 3: "merged"}


def test_squash_rebases_a_stacked_branch_without_the_lower_commits(
    project: Project, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    env = run_stacked_chain(project, fake_github, tmp_path)
    origin = fake_github.repository
    assert origin is not None
    tips = {n: git(project.root, "rev-parse", f"feature/issue-{n}") for n in (1, 2, 3)}
    commits_before = int(git(origin, "rev-list", "--count", "main"))
    before = len(fake_github.mutations())

    done = project.cli("land", "--squash", env=env)
    assert done.returncode == 0, done.stderr
    assert fake_github.mutations()[before:] == landing_calls(fake_github, "squash")
    assert_squashed_stack(project, fake_github, tips, commits_before)
    assert all(p["merge_method"] == "squash" for p in fake_github.pulls.values())


def test_a_pr_closed_without_merging_stops_the_landing(
    project: Project, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    env = on_github(project, fake_github, tmp_path)
    fake_github.add_issue(1, "Only one", labels=["wave"])
    assert project.cli("run", "--plain", env=env).returncode == 0
    fake_github.pulls[pr(fake_github, 1)]["state"] = "closed"
    before = len(fake_github.mutations())
    done = project.cli("land", env=env)
    assert done.returncode == 1
    assert "closed without merging" in done.stderr and "issuewave land" in done.stderr
    assert fake_github.mutations()[before:] == []


# --- the forge's merge against the fake, without the CLI ------------------------------------------
@pytest.fixture
def forge(fake_github: FakeGitHub) -> GitHubForge:
    no_waiting = Pacing(mutation_interval=0, backoff=0, sleep=lambda _: None)
    return GitHubForge(
        fake_github.owner,
        fake_github.repo,
        token=fake_github.token,
        base_url=fake_github.url,
        pacing=no_waiting,
    )


def open_pull(forge: GitHubForge, head: str, base: str = "main") -> RemotePull:
    owner, name = forge.repository.owner, forge.repository.name
    created = forge.api.github.rest.pulls.create(
        owner, name, title=f"PR of {head}", head=head, base=base, body="Closes #1"
    )
    found = forge.pulls.by_head(BranchName(head), created.parsed_data.number)
    assert found is not None
    return found


def test_a_lost_merge_answer_is_not_merged_again(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    pull = open_pull(forge, "feature/issue-1")
    fake_github.fail_next("PUT", f"{REPO}/pulls/{pull.number}/merge", 502, after_effect=True)
    outcome = forge.pulls.merge(pull, method="merge")
    assert outcome.commit and outcome.refusal == ""
    assert fake_github.count("PUT", f"{REPO}/pulls/{pull.number}/merge") == 1


def test_a_moved_head_or_a_failing_check_is_a_refusal(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    pull = open_pull(forge, "feature/issue-1")
    moved = {"message": "Head branch was modified. Review and try the merge again."}
    fake_github.fail_next("PUT", f"{REPO}/pulls/{pull.number}/merge", 409, body=moved)
    outcome = forge.pulls.merge(pull, method="squash")
    assert outcome.commit is None and "409 Head branch was modified" in outcome.refusal
    fake_github.fail_check(pull.number, "build")
    outcome = forge.pulls.merge(pull, method="squash")
    assert outcome.commit is None and 'Required status check "build"' in outcome.refusal
    assert fake_github.pulls[pull.number]["state"] == "open"


def test_a_busy_base_branch_is_tried_again(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    pull = open_pull(forge, "feature/issue-1")
    busy = {"message": "Base branch was modified. Review and try the merge again."}
    fake_github.fail_next("PUT", f"{REPO}/pulls/{pull.number}/merge", 405, body=busy)
    assert forge.pulls.merge(pull, method="merge").commit
    assert fake_github.count("PUT", f"{REPO}/pulls/{pull.number}/merge") == 2


def test_deleting_a_branch_twice_and_re_pointing_too_late(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    upper = open_pull(forge, "feature/issue-2", base="feature/issue-1")
    assert forge.pulls.delete_branch(BranchName("feature/issue-1")) is True
    assert forge.pulls.delete_branch(BranchName("feature/issue-1")) is False  # 422: gone already
    moved = forge.pulls.retarget(upper.number, BranchName("main"))
    assert moved.state == "closed"  # what GitHub does once the base branch is gone


def test_the_fakes_merge_and_delete_answers_parse_with_githubs_models(
    fake_github: FakeGitHub,
) -> None:
    github = GitHub(fake_github.token, base_url=fake_github.url, http_cache=False)
    rest = github.rest
    created = rest.pulls.create("octo", "widgets", title="T", head="b", base="main", body="x")
    number = created.parsed_data.number
    merged = rest.pulls.merge("octo", "widgets", number, merge_method="squash")
    assert isinstance(merged.parsed_data, PullRequestMergeResult)
    assert merged.parsed_data.merged is True and len(merged.parsed_data.sha) == 40
    shown = rest.pulls.get("octo", "widgets", number)
    assert isinstance(shown.parsed_data, PullRequest) and shown.parsed_data.merged is True
    # 2022-11-28's field, gone from githubkit's newest model: issuewave reads it only if there.
    assert shown.json()["merge_commit_sha"] == merged.parsed_data.sha
    with pytest.raises(RequestFailed) as refused:
        rest.pulls.merge("octo", "widgets", number)
    assert refused.value.response.status_code == 405
    assert rest.git.delete_ref("octo", "widgets", "heads/b").status_code == 204
    listed = rest.pulls.list("octo", "widgets", base="main", state="all").parsed_data
    assert [p.number for p in listed] == [number]


# --- the lander given a Landing, as commands/land.py builds it, without `run` before it -----------
RUN = RunId("run-1")


def stacked_landing(
    project: Project, fake: FakeGitHub, forge: GitHubForge, tmp_path: Path, *, squash: bool = False
) -> Landing:
    """#1 ← #2 ← #3 as `run --stack` leaves them: each branch one commit on the lower one, pushed,
    its PR based on the lower branch, the run and its verified tasks in the store."""
    on_github(project, fake, tmp_path)
    tasks, base = [], BranchName("main")
    for n, title in ((1, "Lower"), (2, "Middle"), (3, "Upper")):
        fake.add_issue(n, title, labels=["wave"])
        branch = BranchName(f"feature/issue-{n}")
        git(project.root, "checkout", "-q", "-b", branch, base)
        project.write(f"work/issue-{n}.txt", f"done {n}\n")
        project.commit(f"Resolve #{n}")
        git(project.root, "push", "-q", "origin", branch)
        forge.open_pull(
            PullRequestDraft(Issue(IssueNumber(n), title), branch, base, f"Closes #{n}")
        )
        depends_on = (IssueNumber(n - 1),) if n > 1 else ()
        head = git(project.root, "rev-parse", branch)
        tasks.append(TaskRecord(RUN, IssueNumber(n), title, (), depends_on, n - 1, 0.0,
                                "succeeded", branch, "", head_commit=head))  # fmt: skip
        base = branch
    git(project.root, "checkout", "-q", "main")
    main = git(project.root, "rev-parse", "main")
    run = RunRecord(RUN, 0.0, 1.0, "succeeded", BranchName("main"), main, 1, {}, None)
    store = Store(project.root / ".git" / "issuewave" / "state.db")
    store.create_run(run, tasks)
    return Landing(Git(project.root), store, run, tasks, tests=no_tests, squash=squash)


def no_tests() -> Any:
    raise AssertionError("GitHub's required checks are the tests: the lander runs none")


def test_the_lander_merges_a_stack_in_order_re_pointing_before_deleting(
    project: Project, fake_github: FakeGitHub, forge: GitHubForge, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    landing = stacked_landing(project, fake_github, forge, tmp_path)
    origin = fake_github.repository
    assert origin is not None
    before = len(fake_github.mutations())

    assert forge.land(replace(landing, dry_run=True)) == 0
    assert f"#1: would merge PR #{pr(fake_github, 1)}" in capsys.readouterr().err
    assert len(fake_github.mutations()) == before  # a dry run changes nothing

    assert forge.land(landing) == 0
    assert fake_github.mutations()[before:] == landing_calls(fake_github)
    assert all(p["merged"] and p["state"] == "closed" for p in fake_github.pulls.values())
    assert_main_holds_the_stack(origin)
    assert git(origin, "branch", "--list", "feature/*") == ""
    assert all(fake_github.issues[("octo/widgets", n)].state == "closed" for n in (1, 2, 3))
    kinds = [e.kind for e in landing.store.events(RUN)]
    assert kinds.count("landed") == 3 and "forge_api_calls" in kinds

    capsys.readouterr()
    assert forge.land(landing) == 0
    assert "merged already" in capsys.readouterr().err
    assert fake_github.count("PUT", f"{REPO}/pulls/") == 3  # nothing merged twice


def test_the_lander_stops_at_a_failing_check_and_goes_on_when_it_passes(
    project: Project, fake_github: FakeGitHub, forge: GitHubForge, tmp_path: Path
) -> None:
    landing = stacked_landing(project, fake_github, forge, tmp_path)
    fake_github.fail_check(pr(fake_github, 2))
    before = len(fake_github.mutations())

    assert forge.land(landing) == 1
    assert fake_github.mutations()[before:] == [*landing_calls(fake_github)[:4]]
    upper = fake_github.pulls[pr(fake_github, 3)]
    assert upper["state"] == "open" and upper["base"] == "feature/issue-2"  # untouched

    fake_github.fail_check(pr(fake_github, 2), None)
    assert forge.land(landing) == 0
    assert fake_github.count("PUT", f"{REPO}/pulls/{pr(fake_github, 1)}/merge") == 1
    assert all(p["merged"] for p in fake_github.pulls.values())


def test_the_lander_squashes_and_rebases_each_stacked_branch_without_the_lower_commits(
    project: Project, fake_github: FakeGitHub, forge: GitHubForge, tmp_path: Path
) -> None:
    landing = stacked_landing(project, fake_github, forge, tmp_path, squash=True)
    origin = fake_github.repository
    assert origin is not None
    tips = {n: git(project.root, "rev-parse", f"feature/issue-{n}") for n in (1, 2, 3)}
    commits_before = int(git(origin, "rev-list", "--count", "main"))
    before = len(fake_github.mutations())

    assert forge.land(landing) == 0
    assert fake_github.mutations()[before:] == landing_calls(fake_github, "squash")
    assert_squashed_stack(project, fake_github, tips, commits_before)
