"""Issue comments over REST: listed page by page, created, edited."""

from __future__ import annotations

from fake_github.common import DOCS, STAMP, FakeState, Json
from fake_github.shapes import user_json


class Comments(FakeState):
    def _list_comments(
        self, number: str, *, query: dict[str, list[str]], body: Json
    ) -> tuple[int, list[Json]]:
        per_page = int(query.get("per_page", ["30"])[0])
        page = int(query.get("page", ["1"])[0])
        mine = [c for c in self.comments.values() if c["issue"] == int(number)]
        chosen = mine[(page - 1) * per_page : page * per_page]
        return 200, [self._comment(c) for c in chosen]

    def _create_comment(
        self, number: str, *, query: dict[str, list[str]], body: Json
    ) -> tuple[int, Json]:
        if self.issue_record(int(number)) is None and int(number) not in self.pulls:
            return 404, {"message": "Not Found", "documentation_url": DOCS}
        comment = {"id": self.new_id(), "issue": int(number), "body": body["body"]}
        self.comments[comment["id"]] = comment
        return 201, self._comment(comment)

    def _update_comment(
        self, comment_id: str, *, query: dict[str, list[str]], body: Json
    ) -> tuple[int, Json]:
        comment = self.comments.get(int(comment_id))
        if comment is None:
            return 404, {"message": "Not Found", "documentation_url": DOCS}
        comment["body"] = body["body"]
        return 200, self._comment(comment)

    def _comment(self, comment: Json) -> Json:
        number, cid = comment["issue"], comment["id"]
        return {
            "id": cid,
            "node_id": f"IC_{cid}",
            "url": self.api_url(f"/issues/comments/{cid}"),
            "html_url": f"https://github.com/{self.full_name}/issues/{number}#issuecomment-{cid}",
            "body": comment["body"],
            "user": user_json("issuewave-bot", 7),
            "created_at": STAMP,
            "updated_at": STAMP,
            "issue_url": self.api_url(f"/issues/{number}"),
            "author_association": "OWNER",
        }
