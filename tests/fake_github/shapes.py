"""REST answers in the shapes of GitHub's published schemas (pull-request-simple, pull-request,
simple-user, repository, label): the tests parse them with githubkit's generated models."""

from __future__ import annotations

from fake_github.common import STAMP, FakeState, Json


class Shapes(FakeState):
    def api_url(self, path: str) -> str:
        return f"https://api.github.com/repos/{self.full_name}{path}"

    def _pull_simple(self, pr: Json) -> Json:
        """GET /pulls: the pull-request-simple schema."""
        n = pr["number"]
        return {
            "url": self.api_url(f"/pulls/{n}"),
            "id": pr["id"],
            "node_id": f"PR_{pr['id']}",
            "html_url": f"https://github.com/{self.full_name}/pull/{n}",
            "diff_url": f"https://github.com/{self.full_name}/pull/{n}.diff",
            "patch_url": f"https://github.com/{self.full_name}/pull/{n}.patch",
            "issue_url": self.api_url(f"/issues/{n}"),
            "commits_url": self.api_url(f"/pulls/{n}/commits"),
            "review_comments_url": self.api_url(f"/pulls/{n}/comments"),
            "review_comment_url": self.api_url("/pulls/comments{/number}"),
            "comments_url": self.api_url(f"/issues/{n}/comments"),
            "statuses_url": self.api_url("/statuses/0000000000000000000000000000000000000000"),
            "number": n,
            "state": pr["state"],
            "locked": False,
            "title": pr["title"],
            "user": user_json("issuewave-bot", 7),
            "body": pr["body"],
            "labels": [label_json(name) for name in pr["labels"]],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": STAMP,
            "updated_at": STAMP,
            "closed_at": STAMP if pr["state"] == "closed" else None,
            "merged_at": STAMP if pr.get("merged") else None,
            "merge_commit_sha": pr.get("merge_commit_sha"),
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": self._ref(pr["head"], pr["head_owner"], pr.get("merged_head")),
            "base": self._ref(pr["base"], self.owner),
            "_links": self._links(n),
            "author_association": "OWNER",
            "auto_merge": None,
            "draft": pr["draft"],
        }

    def _pull(self, pr: Json) -> Json:
        """POST and PATCH: the full pull-request schema."""
        return self._pull_simple(pr) | {
            "merged": bool(pr.get("merged")),
            "mergeable": None,
            "rebaseable": None,
            "mergeable_state": "unknown",
            "merged_by": None,
            "comments": 0,
            "review_comments": 0,
            "maintainer_can_modify": False,
            "commits": 1,
            "additions": 1,
            "deletions": 0,
            "changed_files": 1,
        }

    def _ref(self, branch: str, owner: str, sha: str | None = None) -> Json:
        """A PR's head or base; a merged PR's head shows the commit that was merged."""
        return {
            "label": f"{owner}:{branch}",
            "ref": branch,
            "sha": sha or self._tip(branch),
            "user": user_json(owner, 1),
            "repo": repository_json(owner, self.repo),
        }

    def _links(self, n: int) -> Json:
        hrefs = {
            "self": self.api_url(f"/pulls/{n}"),
            "html": f"https://github.com/{self.full_name}/pull/{n}",
            "issue": self.api_url(f"/issues/{n}"),
            "comments": self.api_url(f"/issues/{n}/comments"),
            "review_comments": self.api_url(f"/pulls/{n}/comments"),
            "review_comment": self.api_url("/pulls/comments{/number}"),
            "commits": self.api_url(f"/pulls/{n}/commits"),
            "statuses": self.api_url("/statuses/" + "0" * 40),
        }
        return {name: {"href": href} for name, href in hrefs.items()}


def user_json(login: str, user_id: int) -> Json:
    api = f"https://api.github.com/users/{login}"
    return {
        "login": login,
        "id": user_id,
        "node_id": f"U_{user_id}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": f"https://github.com/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": "User",
        "site_admin": False,
        "user_view_type": "public",
    }


# The repository schema's URL templates, relative to the repository's API URL.
_REPO_URLS = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
    "hooks_url": "/hooks",
}


def repository_json(owner: str, name: str) -> Json:
    api = f"https://api.github.com/repos/{owner}/{name}"
    html = f"https://github.com/{owner}/{name}"
    return {
        "id": 4242,
        "node_id": "R_4242",
        "name": name,
        "full_name": f"{owner}/{name}",
        "license": None,
        "forks": 0,
        "owner": user_json(owner, 1),
        "private": False,
        "html_url": html,
        "description": None,
        "fork": False,
        "url": api,
        **{key: api + suffix for key, suffix in _REPO_URLS.items()},
        "git_url": f"git://github.com/{owner}/{name}.git",
        "ssh_url": f"git@github.com:{owner}/{name}.git",
        "clone_url": f"{html}.git",
        "mirror_url": None,
        "svn_url": html,
        "homepage": None,
        "language": "Python",
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "size": 1,
        "default_branch": "main",
        "open_issues_count": 0,
        "is_template": False,
        "topics": [],
        "has_issues": True,
        "has_projects": False,
        "has_wiki": False,
        "has_pages": False,
        "has_downloads": False,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "visibility": "public",
        "pushed_at": STAMP,
        "created_at": STAMP,
        "updated_at": STAMP,
        "allow_forking": True,
        "web_commit_signoff_required": False,
        "open_issues": 0,
        "watchers": 0,
    }


def label_json(name: str) -> Json:
    label_id = 5000 + sum(map(ord, name))
    return {
        "id": label_id,
        "node_id": f"LA_{label_id}",
        "url": f"https://api.github.com/labels/{label_id}",
        "name": name,
        "description": None,
        "color": "ededed",
        "default": False,
        "archived_at": None,
        "archived_by": None,
    }
