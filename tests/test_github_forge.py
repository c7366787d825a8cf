"""The GitHub forge against a stateful fake GitHub over real HTTP: reading, trust, publishing,
progress comments, faults and rate limits, and the token kept out of every message."""

from __future__ import annotations

import logging
import os
import sys
import textwrap
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from githubkit import GitHub
from githubkit_schemas.latest.models import IssueComment, Label, PullRequest, PullRequestSimple

from fake_github import FakeGitHub, fake_github
from issuewave.errors import PrecheckError
from issuewave.forges.base import PullRequestDraft
from issuewave.forges.github import (
    PROGRESS_MARKER,
    GitHubError,
    GitHubForge,
    Pacing,
    Publishing,
    Selection,
    Trust,
    api_base_url,
    resolve_token,
)
from issuewave.forges.remotes import is_github_remote, parse_remote
from issuewave.issues import Issue
from issuewave.plan import build_plan
from issuewave.store import Store
from issuewave.types import BranchName, IssueNumber

__all__ = ["fake_github"]  # the fixture, imported for pytest


@dataclass
class FakeClock:
    """The forge's clock and sleep: waits are recorded, and time moves only when it sleeps."""

    now: float = 1_000_000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.db")


def make_forge(fake: FakeGitHub, clock: FakeClock, **settings: object) -> GitHubForge:
    pacing = settings.pop("pacing", None) or Pacing(
        mutation_interval=0, sleep=clock.sleep, clock=clock
    )
    return GitHubForge(
        fake.owner,
        fake.repo,
        token=fake.token,
        base_url=fake.url,
        pacing=pacing,  # type: ignore[arg-type]
        **settings,  # type: ignore[arg-type]
    )


def by_number(issues: Sequence[Issue]) -> dict[int, Issue]:
    return {int(issue.number): issue for issue in issues}


def draft(
    number: int, title: str = "Add the parser", labels: tuple[str, ...] = ()
) -> PullRequestDraft:
    issue = Issue(IssueNumber(number), title, labels=labels)
    return PullRequestDraft(
        issue, BranchName(f"feature/issue-{number}"), BranchName("main"), f"Closes #{number}"
    )


# --- reading issues ------------------------------------------------------------------------------
def test_250_issues_in_three_queries_with_native_sub_issue_and_text_dependencies(
    fake_github: FakeGitHub, clock: FakeClock
) -> None:
    fake_github.add_issue(900, "Old groundwork", state="closed")
    for n in range(1, 251):
        body = f"Depends on #{n - 3}" if n % 7 == 0 else "Some text; see #1 (not a dependency)."
        blocked_by = [n - 1] if n % 10 == 2 else []
        blocked_by += [900] if n == 5 else []
        fake_github.add_issue(n, f"Issue {n}", body, blocked_by=blocked_by)
    fake_github.issues[(fake_github.full_name.lower(), 200)].sub_issues = [
        (fake_github.full_name, 201),
        (fake_github.full_name, 202),
    ]

    forge = make_forge(fake_github, clock)
    issues = by_number(forge.read_issues().issues)

    assert fake_github.graphql_calls == 3  # 100 + 100 + 50, links and states in the same answers
    assert forge.api_calls == 3
    assert sorted(n for n, i in issues.items() if i.is_open) == list(range(1, 251))
    assert issues[12].depends_on == (11,)  # native blocked-by
    assert issues[14].depends_on == (11,)  # "Depends on #11"
    assert issues[42].depends_on == (39, 41)  # both forms at once
    assert issues[200].depends_on == (201, 202)  # a parent waits for its sub-issues
    assert issues[5].depends_on == (900,)  # closed: listed closed, so the plan counts it done
    assert not issues[900].is_open
    assert issues[900].source == "https://github.com/octo/widgets/issues/900"
    assert issues[3].depends_on == ()  # a bare mention is no dependency
    assert forge.details[IssueNumber(201)].parent == "#200"
    plan = build_plan(issues.values())
    assert plan.satisfied == {5: (900,)}
    assert plan.deps[IssueNumber(200)] == (201, 202)


def test_explicit_numbers_are_read_in_one_query(fake_github: FakeGitHub, clock: FakeClock) -> None:
    for n in range(1, 40):
        fake_github.add_issue(n, f"Issue {n}", blocked_by=[n - 1] if n > 1 else [])

    forge = make_forge(fake_github, clock, selection=Selection(numbers=(7, 8, 9)))
    found = forge.read_issues()
    issues = by_number(found.issues)

    assert fake_github.graphql_calls == 1
    assert sorted(issues) == [7, 8, 9]
    assert issues[9].depends_on == (8,)
    assert issues[7].depends_on == ()
    assert found.waits_outside == {7: ("#6",)}  # open, but not chosen


def test_an_explicit_number_that_is_no_issue_is_named(
    fake_github: FakeGitHub, clock: FakeClock
) -> None:
    fake_github.add_issue(1, "One")
    forge = make_forge(fake_github, clock, selection=Selection(numbers=(1, 77)))
    with pytest.raises(Exception, match=r"octo/widgets has no issue #77"):
        forge.read_issues()


def test_a_closed_dependency_named_in_text_is_looked_up_once_and_satisfies(
    fake_github: FakeGitHub, clock: FakeClock
) -> None:
    fake_github.add_issue(1, "Done long ago", state="closed")
    fake_github.add_issue(2, "Needs one", "Depends on #1")
    fake_github.add_issue(3, "Needs one too", "Blocked by #1 and #404")

    forge = make_forge(fake_github, clock)
    issues = by_number(forge.read_issues().issues)

    assert fake_github.graphql_calls == 2  # the page, then one query for #1 and #404
    assert issues[1].state == "closed" and issues[1].title == "Done long ago"
    plan = build_plan(issues.values(), ignore_missing=True)
    assert plan.satisfied == {2: (1,), 3: (1,)}
    assert plan.missing == {3: (404,)}  # no such issue: reported like the local forge's


def test_an_open_dependency_outside_the_selection_is_an_external_blocker(
    fake_github: FakeGitHub, clock: FakeClock
) -> None:
    fake_github.add_issue(1, "Not labelled")
    fake_github.add_issue(2, "Labelled, native link", labels=["ready"], blocked_by=[1])
    fake_github.add_issue(3, "Labelled, text link", "Depends on #1", labels=["ready"])
    fake_github.add_issue(4, "Other milestone", labels=["ready"], milestone=2)

    forge = make_forge(fake_github, clock, selection=Selection(labels=("ready",)))
    found = forge.read_issues()
    issues = by_number(found.issues)

    assert sorted(issues) == [2, 3, 4]
    assert issues[2].depends_on == () and issues[3].depends_on == ()
    assert found.waits_outside == {2: ("#1",), 3: ("#1",)}
    assert not found.untrusted and not found.cross_repository

    milestone = make_forge(fake_github, clock, selection=Selection(milestone=2))
    assert [i.number for i in milestone.read_issues().issues] == [4]


def test_labels_select_issues_carrying_all_of_them(
    fake_github: FakeGitHub, clock: FakeClock
) -> None:
    fake_github.add_issue(1, "Both", labels=["ready", "backend"])
    fake_github.add_issue(2, "One", labels=["ready"])
    fake_github.add_issue(3, "Other", labels=["backend"])

    forge = make_forge(fake_github, clock, selection=Selection(labels=("ready", "Backend")))

    assert [i.number for i in forge.read_issues().issues] == [1]


def test_a_milestone_title_is_resolved_to_its_number_once(
    fake_github: FakeGitHub, clock: FakeClock
) -> None:
    fake_github.milestones |= {1: "v1.0", 2: "v1.0.1", 3: "V1.0-beta"}
    fake_github.add_issue(1, "In v1.0", milestone=1)
    fake_github.add_issue(2, "In v1.0.1", milestone=2)
    fake_github.add_issue(3, "None")

    forge = make_forge(fake_github, clock, selection=Selection(milestone="v1.0"))

    assert [i.number for i in forge.read_issues().issues] == [1]  # the exact title, not a substring
    assert fake_github.graphql_calls == 2
    missing = make_forge(fake_github, clock, selection=Selection(milestone="v9"))
    with pytest.raises(Exception, match="no milestone titled 'v9'"):
        missing.read_issues()


def test_cross_repository_references_are_kept_as_written(
    fake_github: FakeGitHub, clock: FakeClock
) -> None:
    fake_github.add_issue(3, "Library fix", repo="other/lib", state="closed")
    fake_github.add_issue(7, "Library feature", repo="other/lib")
    fake_github.add_issue(
        1,
        "Uses the library",
        "Depends on other/lib#7, ghost/gone#2",
        blocked_by=["other/lib#3"],
    )

    forge = make_forge(fake_github, clock)
    found = forge.read_issues()
    (issue,) = found.issues

    assert issue.depends_on == ()  # no local number is guessed from another repository's
    one = IssueNumber(1)
    assert found.cross_repository[one] == ("ghost/gone#2", "other/lib#3", "other/lib#7")
    # other/lib#3 is closed: satisfied. #7 is open; ghost/gone#2 cannot be seen: both block.
    assert found.waits_outside[one] == ("ghost/gone#2", "other/lib#7")


def test_untrusted_authors_are_left_out_and_listed(
    fake_github: FakeGitHub, clock: FakeClock
) -> None:
    fake_github.add_issue(1, "From the owner")
    fake_github.add_issue(2, "From a stranger", author="mallory", association="NONE")
    fake_github.add_issue(3, "From a contributor", author="carol", association="CONTRIBUTOR")
    fake_github.add_issue(4, "Labelled", author="dave", association="NONE", labels=["agent-ok"])
    fake_github.add_issue(5, "From a friend", author="Erin", association="NONE")
    fake_github.add_issue(6, "Needs the stranger's", "Depends on #2")
    fake_github.add_issue(7, "From a deleted account", author=None, association="NONE")

    trust = Trust(authors=("erin",), require_label="agent-ok")
    forge = make_forge(fake_github, clock, trust=trust)
    found = forge.read_issues()
    issues = by_number(found.issues)

    assert sorted(issues) == [1, 4, 5, 6]
    assert sorted(found.untrusted) == [2, 3, 7]
    assert "@mallory (none)" in found.untrusted[IssueNumber(2)]
    assert "lacks the label 'agent-ok'" in found.untrusted[IssueNumber(2)]
    assert "a deleted account" in found.untrusted[IssueNumber(7)]
    assert found.waits_outside == {6: ("#2",)}  # never planned through a dependency
    assert forge.details[IssueNumber(4)].author == "dave"
    assert forge.details[IssueNumber(1)].author_association == "OWNER"


# --- publishing ----------------------------------------------------------------------------------
def test_open_pull_creates_the_pull_request_and_answers_githubs_reference(
    fake_github: FakeGitHub, store: Store, clock: FakeClock
) -> None:
    publishing = Publishing(labels=("issuewave",), draft=True)
    forge = make_forge(fake_github, clock, publishing=publishing)

    ref = forge.open_pull(draft(3, labels=("parser",)))

    (pull,) = fake_github.open_pulls()
    assert pull["title"] == "Add the parser"
    assert pull["body"] == "Closes #3"
    assert (pull["head"], pull["base"], pull["draft"]) == ("feature/issue-3", "main", True)
    assert pull["labels"] == ["parser", "issuewave"]
    assert ref.remote_number == pull["number"]
    assert ref.url == f"https://github.com/octo/widgets/pull/{pull['number']}"
    assert ref.labels == ("parser", "issuewave")
    assert store.pull_requests() == []  # the orchestrator records it, not the forge
    assert forge.find_open_pull(BranchName("feature/issue-3")) == ref
    assert forge.find_open_pull(BranchName("feature/issue-99")) is None


def test_the_state_of_a_heads_pull_request(fake_github: FakeGitHub, clock: FakeClock) -> None:
    forge = make_forge(fake_github, clock)
    head = BranchName("feature/issue-3")
    assert forge.pulls.state(head) is None
    forge.open_pull(draft(3))
    assert forge.pulls.state(head) == "open"
    fake_github.merge(next(iter(fake_github.pulls)))
    assert forge.pulls.state(head) == "merged"
    assert forge.find_open_pull(head) is None  # no longer open


def test_publishing_again_updates_the_same_pull_request(
    fake_github: FakeGitHub, store: Store, clock: FakeClock
) -> None:
    forge = make_forge(fake_github, clock)
    forge.open_pull(draft(3))
    forge.open_pull(draft(3, title="Add the parser, second try"))

    (pull,) = fake_github.pulls.values()
    assert pull["title"] == "Add the parser, second try"
    assert fake_github.count("POST", "/repos/octo/widgets/pulls") == 1
    assert fake_github.count("PATCH", "/repos/octo/widgets/pulls/") == 1
    assert store.pull_requests() == []  # the orchestrator records it, not the forge


def test_a_502_after_the_pull_request_was_created_makes_no_duplicate(
    fake_github: FakeGitHub, clock: FakeClock
) -> None:
    fake_github.fail_next("POST", "/repos/octo/widgets/pulls", 502, after_effect=True)
    forge = make_forge(fake_github, clock)

    forge.open_pull(draft(3))

    assert len(fake_github.pulls) == 1
    assert fake_github.count("POST", "/repos/octo/widgets/pulls") == 1  # found, not re-sent
    assert clock.sleeps == [1.0]  # one backoff before looking again


def test_a_pull_request_opened_by_someone_else_meanwhile_is_updated(
    fake_github: FakeGitHub, clock: FakeClock
) -> None:
    forge = make_forge(fake_github, clock)
    forge.open_pull(draft(3))
    # The next look-up misses it (as if it were opened just after): create answers 422.
    fake_github.fail_next("GET", "/repos/octo/widgets/pulls", 200, body=[])

    forge.open_pull(draft(3, title="Retitled"))

    (pull,) = fake_github.pulls.values()
    assert pull["title"] == "Retitled"


def test_a_secondary_rate_limit_waits_as_long_as_github_asks(
    fake_github: FakeGitHub, clock: FakeClock
) -> None:
    fake_github.fail_next("POST", "/repos/octo/widgets/pulls", 403, {"retry-after": "30"})
    forge = make_forge(fake_github, clock)

    forge.open_pull(draft(3))

    assert clock.sleeps == [30.0]
    assert len(fake_github.pulls) == 1


def test_a_used_up_rate_limit_waits_until_its_reset(
    fake_github: FakeGitHub, clock: FakeClock
) -> None:
    reset = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(clock.now) + 120)}
    fake_github.fail_next("GET", "/repos/octo/widgets/pulls", 403, reset)
    forge = make_forge(fake_github, clock)

    forge.open_pull(draft(3))

    assert clock.sleeps == [121.0]  # to the reset, plus a second for the clocks
    assert len(fake_github.pulls) == 1


def test_a_response_that_uses_up_the_limit_makes_the_next_call_wait(
    fake_github: FakeGitHub, clock: FakeClock
) -> None:
    for n in range(1, 131):
        fake_github.add_issue(n, f"Issue {n}")
    reset = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(clock.now) + 50)}
    fake_github.fail_next("POST", "/graphql", None, reset)  # the first page answers normally

    issues = make_forge(fake_github, clock).read_issues().issues

    assert len(issues) == 130
    assert clock.sleeps == [51.0]  # before the second page


def test_content_creating_calls_are_spaced(fake_github: FakeGitHub, clock: FakeClock) -> None:
    pacing = Pacing(mutation_interval=1.0, sleep=clock.sleep, clock=clock)
    forge = make_forge(fake_github, clock, pacing=pacing)

    forge.open_pull(draft(3, labels=("parser",)))  # POST pulls, then POST labels

    assert clock.sleeps == [1.0]


def test_server_errors_are_retried_with_bounded_backoff(
    fake_github: FakeGitHub, clock: FakeClock
) -> None:
    for _ in range(5):
        fake_github.fail_next("GET", "/repos/octo/widgets/pulls", 503)
    forge = make_forge(fake_github, clock)

    with pytest.raises(GitHubError, match="503") as failure:
        forge.find_open_pull(BranchName("feature/issue-3"))

    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0]
    assert "after 5 tries" in str(failure.value)
    assert fake_github.count("GET", "/repos/octo/widgets/pulls") == 5


def test_a_timeout_is_retried(fake_github: FakeGitHub, clock: FakeClock) -> None:
    fake_github.fail_next("GET", "/repos/octo/widgets/pulls", None, delay=1.0)
    pacing = Pacing(mutation_interval=0, timeout=0.3, sleep=clock.sleep, clock=clock)
    forge = make_forge(fake_github, clock, pacing=pacing)

    assert forge.find_open_pull(BranchName("feature/issue-3")) is None
    assert clock.sleeps == [1.0]
    assert forge.api_calls == 2


def test_a_wait_longer_than_allowed_is_an_error_not_a_stall(
    fake_github: FakeGitHub, clock: FakeClock
) -> None:
    fake_github.fail_next("GET", "/repos/octo/widgets/pulls", 429, {"retry-after": "3600"})
    forge = make_forge(fake_github, clock)

    with pytest.raises(GitHubError, match="wait 3600 s"):
        forge.find_open_pull(BranchName("feature/issue-3"))
    assert clock.sleeps == []


def test_a_plain_403_is_not_retried(fake_github: FakeGitHub, clock: FakeClock) -> None:
    fake_github.fail_next("POST", "/repos/octo/widgets/pulls", 403)
    forge = make_forge(fake_github, clock)

    with pytest.raises(GitHubError, match="403") as failure:
        forge.open_pull(draft(3))
    assert failure.value.hint is not None and "permission" in failure.value.hint
    assert clock.sleeps == []


# --- progress comments ---------------------------------------------------------------------------
def test_the_progress_comment_is_created_once_then_edited_in_place(
    fake_github: FakeGitHub, clock: FakeClock
) -> None:
    fake_github.add_issue(5, "Parser")
    for n in range(120):  # the marker lands on the second page of comments
        fake_github.comments[n + 1] = {"id": n + 1, "issue": 5, "body": f"chatter {n}"}
    forge = make_forge(fake_github, clock)

    first = forge.comments.comment(IssueNumber(5), "attempt 1 running")
    again = forge.comments.comment(IssueNumber(5), "attempt 1 verified")
    resumed = make_forge(fake_github, clock).comments.comment(IssueNumber(5), "PR opened")

    assert first == again == resumed
    ours = [c for c in fake_github.comments.values() if PROGRESS_MARKER in c["body"]]
    assert [c["body"] for c in ours] == [f"{PROGRESS_MARKER}\nPR opened"]
    assert fake_github.count("POST", "/repos/octo/widgets/issues/5/comments") == 1
    assert fake_github.count("PATCH", "/repos/octo/widgets/issues/comments/") == 2


def test_a_lost_answer_to_the_progress_comment_makes_no_second_one(
    fake_github: FakeGitHub, clock: FakeClock
) -> None:
    fake_github.add_issue(5, "Parser")
    fake_github.fail_next("POST", "/repos/octo/widgets/issues/5/comments", 500, after_effect=True)

    make_forge(fake_github, clock).comments.comment(IssueNumber(5), "running")

    assert len(fake_github.comments) == 1


def test_a_failed_progress_note_does_not_fail_the_issue(
    fake_github: FakeGitHub, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake_github.add_issue(5, "Parser")
    fake_github.fail_next("GET", "/repos/octo/widgets/issues/5/comments", 403)
    forge = make_forge(fake_github, clock)

    forge.progress(Issue(IssueNumber(5), "Parser"), "running")

    assert fake_github.comments == {}
    assert "could not write the progress comment on #5" in caplog.text
    assert forge.push_remote == "origin"


# --- the token -----------------------------------------------------------------------------------
def test_a_missing_token_names_every_place_it_is_looked_for(tmp_path: Path) -> None:
    with pytest.raises(PrecheckError) as failure:
        resolve_token({"PATH": str(tmp_path)}, cwd=tmp_path)
    message = str(failure.value)
    assert "GITHUB_TOKEN" in message and "GH_TOKEN" in message and "gh" in message


def test_the_token_comes_from_the_environment_first_then_from_gh(tmp_path: Path) -> None:
    gh = tmp_path / "gh"
    gh.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import sys
            print("gho_from_gh" if sys.argv[1:3] == ["auth", "token"] else "?", sys.argv[3:])
            """
        )
    )
    gh.chmod(0o755)
    environ = {"PATH": f"{tmp_path}{os.pathsep}/usr/bin:/bin"}

    assert resolve_token({**environ, "GITHUB_TOKEN": "a", "GH_TOKEN": "b"}) == "a"
    assert resolve_token({**environ, "GH_TOKEN": "b"}) == "b"
    assert resolve_token(environ, cwd=tmp_path) == "gho_from_gh []"
    enterprise = resolve_token(environ, host="git.example.com", cwd=tmp_path)
    assert enterprise == "gho_from_gh ['--hostname', 'git.example.com']"


def test_the_token_appears_in_no_log_message_or_repr(
    fake_github: FakeGitHub,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_github.add_issue(1, "One")
    forge = make_forge(fake_github, clock)
    forge.read_issues()
    fake_github.fail_next("POST", "/repos/octo/widgets/pulls", 502, after_effect=True)
    forge.open_pull(draft(1))
    fake_github.fail_next("POST", "/repos/octo/widgets/issues/", 404)
    with pytest.raises(GitHubError) as failure:
        forge.open_pull(draft(1, labels=("x",)))
    wrong = GitHubForge("octo", "widgets", token="ghp_" + "9" * 36, base_url=fake_github.url)
    with pytest.raises(GitHubError) as refused:
        wrong.read_issues()

    assert refused.value.status == 401 and "refused" in (refused.value.hint or "")
    texts = [
        caplog.text,
        repr(forge),
        repr(forge.api),
        repr(forge.api.github.auth),
        str(failure.value),
        repr(failure.value),
        "".join(traceback.format_exception(failure.value)),
        "".join(traceback.format_exception(refused.value)),
    ]
    assert not [text for text in texts if fake_github.token in text or "9" * 36 in text]
    assert "POST /repos/octo/widgets/pulls" in caplog.text  # the log says what was done


# --- the fake against GitHub's schemas ------------------------------------------------------------
def test_the_fakes_answers_parse_with_githubs_models(fake_github: FakeGitHub) -> None:
    fake_github.add_issue(5, "Parser")
    github = GitHub(fake_github.token, base_url=fake_github.url, http_cache=False)
    rest = github.rest

    created = rest.pulls.create("octo", "widgets", title="T", head="b", base="main", body="x")
    assert isinstance(created.parsed_data, PullRequest)
    listed = rest.pulls.list("octo", "widgets", head="octo:b", state="open")
    assert [p.number for p in listed.parsed_data] == [created.parsed_data.number]
    assert all(isinstance(p, PullRequestSimple) for p in listed.parsed_data)
    updated = rest.pulls.update("octo", "widgets", created.parsed_data.number, title="U")
    assert updated.parsed_data.title == "U"
    labels = rest.issues.add_labels("octo", "widgets", created.parsed_data.number, labels=["a"])
    assert all(isinstance(label, Label) for label in labels.parsed_data)
    comment = rest.issues.create_comment("octo", "widgets", 5, body="hello")
    assert isinstance(comment.parsed_data, IssueComment)
    edited = rest.issues.update_comment("octo", "widgets", comment.parsed_data.id, body="bye")
    assert edited.parsed_data.body == "bye"
    listed_comments = rest.issues.list_comments("octo", "widgets", 5)
    assert all(isinstance(c, IssueComment) for c in listed_comments.parsed_data)


def test_a_github_enterprise_base_url_reaches_rest_and_graphql(
    fake_github: FakeGitHub, clock: FakeClock
) -> None:
    fake_github.add_issue(1, "One")
    forge = GitHubForge(
        "octo",
        "widgets",
        token=fake_github.token,
        base_url=fake_github.url + "api/v3/",
        pacing=Pacing(mutation_interval=0, sleep=clock.sleep, clock=clock),
    )

    assert [i.number for i in forge.read_issues().issues] == [1]
    forge.open_pull(draft(1))
    assert len(fake_github.pulls) == 1


# --- remotes -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/octo/widgets.git", ("octo", "widgets")),
        ("https://github.com/octo/widgets", ("octo", "widgets")),
        ("https://github.com/octo/widgets/", ("octo", "widgets")),
        ("https://x-access-token:secret@github.com/octo/my.repo.git", ("octo", "my.repo")),
        ("ssh://git@github.com/octo/widgets.git", ("octo", "widgets")),
        ("ssh://git@github.com:22/octo/widgets.git", ("octo", "widgets")),
        ("git@github.com:octo/widgets.git", ("octo", "widgets")),
        ("git@GitHub.com:Octo/Widgets", ("Octo", "Widgets")),
        ("https://gitlab.com/octo/widgets.git", None),
        ("git@gitlab.com:octo/widgets.git", None),
        ("https://github.com/octo/widgets/tree/main", None),
        ("/srv/git/widgets.git", None),
        ("C:/repos/widgets", None),
    ],
)
def test_parse_remote(url: str, expected: tuple[str, str] | None) -> None:
    assert parse_remote(url) == expected


def test_an_enterprise_host_is_given_explicitly() -> None:
    assert parse_remote("git@git.example.com:team/app.git", "git.example.com") == ("team", "app")
    assert not is_github_remote("git@git.example.com:team/app.git")
    assert is_github_remote("https://github.com/octo/widgets")
    assert api_base_url("git.example.com") == "https://git.example.com/api/v3/"
