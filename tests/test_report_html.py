"""`issuewave report --format html`: one self-contained file, charts drawn from the journal."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import Project, seed_issues
from issuewave.store import Store

HOSTILE = "<script>alert(1)</script>"


class Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def svg(document: str, css_class: str) -> ET.Element:
    found = re.search(rf'<svg class="{css_class}".*?</svg>', document, re.S)
    assert found, f"no {css_class} chart"
    return ET.fromstring(found.group(0))


@pytest.fixture
def report(project: Project) -> tuple[Project, str]:
    seed_issues(project)
    project.add_issue(160, HOSTILE, body="A title that must stay text.")
    project.commit("hostile issue")
    done = project.cli("run", env={"AGENT_SLEEP": "0.2"})
    assert done.returncode == 0, done.stderr
    made = project.cli("report", "--format", "html", "-o", "report.html")
    assert made.returncode == 0, made.stderr
    return project, (project.root / "report.html").read_text(encoding="utf-8")


def test_gantt_has_a_row_per_issue_and_a_bar_per_phase(report: tuple[Project, str]) -> None:
    project, document = report
    chart = svg(document, "gantt")
    rows = [g for g in chart.iter("g") if "row" in g.get("class", "").split()]
    assert [int(g.get("data-issue", "0")) for g in rows] == [152, 154, 160, 155]  # wave, number
    scale = float(chart.get("data-scale", "0"))
    store = Store.for_repository(project.root / ".git")
    run = store.latest_run()
    assert run is not None
    attempts = store.attempts(run.id)
    assert len(attempts) >= 4
    bars = {
        (int(r.get("data-issue", "0")), int(r.get("data-attempt", "0")), kind): r
        for r in chart.iter("rect")
        for kind in ("agent", "verify")
        if kind in r.get("class", "").split()
    }
    assert len(bars) == 2 * len(attempts)
    origin = min(a.started_at for a in attempts)
    for a in attempts:
        assert a.agent_finished_at is not None and a.finished_at is not None
        agent = bars[(a.issue, a.number, "agent")]
        verify = bars[(a.issue, a.number, "verify")]
        assert float(agent.get("width", "0")) == pytest.approx(
            (a.agent_finished_at - a.started_at) * scale, abs=0.01
        )
        assert float(verify.get("width", "0")) == pytest.approx(
            (a.finished_at - a.agent_finished_at) * scale, abs=0.01
        )
        assert float(agent.get("x", "0")) == pytest.approx(
            260 + (a.started_at - origin) * scale, abs=0.01
        )
        assert "ok" in agent.get("class", "").split()  # every attempt here was verified
    # The agent slept 0.2 s: its bar is at least that long.
    assert min(float(b.get("data-seconds", "0")) for k, b in bars.items() if k[2] == "agent") >= 0.2


def test_critical_path_is_marked(report: tuple[Project, str]) -> None:
    project, document = report
    figures = json.loads(project.cli("report", "--format", "json").stdout)
    critical = set(figures["run"]["critical_path"])
    assert 155 in critical and len(critical) == 2
    chart = svg(document, "gantt")
    marked = {
        int(g.get("data-issue", "0"))
        for g in chart.iter("g")
        if "critical" in g.get("class", "").split()
    }
    assert marked == critical
    outlined = {int(r.get("data-issue", "0")) for r in chart.iter("rect") if r.get("stroke")}
    assert outlined == critical
    assert "critical path" in document
    graph = svg(document, "graph")
    nodes = {
        int(g.get("data-issue", "0"))
        for g in graph.iter("g")
        if "critical" in g.get("class", "").split()
    }
    assert nodes == critical


def test_graph_has_a_node_per_issue_and_an_edge_per_dependency(
    report: tuple[Project, str],
) -> None:
    _, document = report
    graph = svg(document, "graph")
    nodes = [g for g in graph.iter("g") if "node" in g.get("class", "").split()]
    assert sorted(int(g.get("data-issue", "0")) for g in nodes) == [152, 154, 155, 160]
    assert {g.get("data-status") for g in nodes} == {"succeeded"}
    edges = [p for p in graph.iter("path") if p.get("class") == "edge"]
    assert sorted((int(e.get("data-from", "0")), int(e.get("data-to", "0"))) for e in edges) == [
        (152, 155),
        (154, 155),
    ]


def test_self_contained_and_escaped(report: tuple[Project, str]) -> None:
    _, document = report
    parser = Collector()
    parser.feed(document)
    tags = [tag for tag, _ in parser.tags]
    assert "script" not in tags
    assert not {"link", "img", "iframe", "object", "embed"} & set(tags)
    for _, attrs in parser.tags:
        for name in ("src", "href", "xlink:href"):
            value = attrs.get(name) or ""
            assert not re.match(r"\s*(https?:)?//", value), value
    assert "http://" not in document and "https://" not in document
    assert "@import" not in document and "url(http" not in document
    assert HOSTILE not in document
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document
    assert "<table>" in document and "Performance Metrics" in document


def test_json_flag_and_markdown_link(report: tuple[Project, str]) -> None:
    project, _ = report
    flag = project.cli("report", "--json")
    assert flag.returncode == 0, flag.stderr
    assert json.loads(flag.stdout)["run"]["issues_total"] == 4
    made = project.cli("report", "-o", "report.md")
    assert made.returncode == 0, made.stderr
    assert "[report.html](report.html)" in Path(project.root / "report.md").read_text()
    assert "[report.html]" not in project.cli("report").stdout
