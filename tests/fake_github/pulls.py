"""The fake's pull requests over REST: list (by head, base, state), create (one open PR a head),
get, update (a PR whose base branch is gone closes, as on GitHub), and labels."""

from __future__ import annotations

from fake_github.common import DOCS, FakeState, Json
from fake_github.shapes import label_json


class PullRequests(FakeState):
    def _list_pulls(self, *, query: dict[str, list[str]], body: Json) -> tuple[int, list[Json]]:
        state = query.get("state", ["open"])[0]
        head = query.get("head", [None])[0]
        base = query.get("base", [None])[0]
        pulls = [
            pr
            for pr in sorted(self.pulls.values(), key=lambda p: p["number"])
            if (state == "all" or pr["state"] == state)
            and (head is None or f"{pr['head_owner']}:{pr['head']}" == head)
            and (base is None or pr["base"] == base)
        ]
        return 200, [self._pull_simple(pr) for pr in pulls]

    def _create_pull(self, *, query: dict[str, list[str]], body: Json) -> tuple[int, Json]:
        missing = [name for name in ("head", "base", "title") if not body.get(name)]
        if missing:
            return 422, _invalid(f"{missing[0]} wasn't supplied.")
        head_owner, _, head = str(body["head"]).rpartition(":")
        head_owner = head_owner or self.owner
        for pr in self.open_pulls(head):
            if pr["head_owner"] == head_owner:
                return 422, _invalid(f"A pull request already exists for {head_owner}:{head}.")
        number = self.next_number()
        self.pulls[number] = {
            "number": number,
            "id": self.new_id(),
            "title": body["title"],
            "body": body.get("body"),
            "head": head,
            "head_owner": head_owner,
            "base": body["base"],
            "draft": bool(body.get("draft", False)),
            "state": "open",
            "labels": [],
        }
        return 201, self._pull(self.pulls[number])

    def _get_pull(
        self, number: str, *, query: dict[str, list[str]], body: Json
    ) -> tuple[int, Json]:
        pr = self.pulls.get(int(number))
        if pr is None:
            return 404, {"message": "Not Found", "documentation_url": DOCS}
        return 200, self._pull(pr)

    def _update_pull(
        self, number: str, *, query: dict[str, list[str]], body: Json
    ) -> tuple[int, Json]:
        pr = self.pulls.get(int(number))
        if pr is None:
            return 404, {"message": "Not Found", "documentation_url": DOCS}
        if pr["state"] == "open" and pr["base"] in self.deleted_branches:
            pr["state"] = "closed"  # as GitHub does to a PR whose base branch is gone
            return 200, self._pull(pr)
        for key in ("title", "body", "base", "state"):
            if key in body:
                pr[key] = body[key]
        return 200, self._pull(pr)

    def _add_labels(
        self, number: str, *, query: dict[str, list[str]], body: Json | list[str]
    ) -> tuple[int, Json | list[Json]]:
        names = body if isinstance(body, list) else body.get("labels", [])
        target = self.pulls.get(int(number)) or self.issue_record(int(number))
        if target is None:
            return 404, {"message": "Not Found", "documentation_url": DOCS}
        labels = target["labels"] if isinstance(target, dict) else target.labels
        labels += [name for name in names if name not in labels]
        return 200, [label_json(name) for name in labels]


def _invalid(message: str) -> Json:
    return {
        "message": "Validation Failed",
        "errors": [{"resource": "PullRequest", "code": "custom", "message": message}],
        "documentation_url": DOCS,
        "status": "422",
    }
