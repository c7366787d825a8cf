"""Test ids read from what runners really print: pytest's JUnit XML and -v/-rA text, cargo's
libtest, unittest -v (recorded under tests/testids/), and go test -json (written after Go's
documented format: go is not installed here). Then the test bed's own reading, for real."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from pathlib import Path

from issuewave import testbed
from issuewave.testfiles import is_test_file, is_whole_config
from issuewave.testids import (
    GO_JSON,
    JUNIT,
    OUTPUT,
    go_json_results,
    ids_note,
    junit_results,
    read_results,
    text_results,
)
from issuewave.testids import TestResults as Results
from issuewave.verify import failed_test_ids, judge_tests

RECORDED = Path(__file__).parent / "testids"


def recorded(name: str) -> str:
    return (RECORDED / name).read_text()


def test_pytest_junit_xml_gives_every_outcome_with_xfail_as_skipped() -> None:
    found = junit_results([RECORDED / "pytest-junit.xml"])
    assert found.source == JUNIT
    assert found.passed == {
        "test_s::test_ok", "test_s::test_param[1]", "test_s::test_param[a b]",
        "test_s::test_param[c::d]", "test_s.TestK::test_m", "test_s.U::test_u",
    }  # fmt: skip
    assert found.failed == {"test_s::test_fail", "test_s::test_error"}  # an error counts
    assert found.skipped == {"test_s::test_skip", "test_s::test_xfail"}


def test_pytest_verbose_and_summary_text_name_the_same_tests_as_its_nodeids() -> None:
    found = text_results(recorded("pytest-v-rA.txt"))
    assert found.source == OUTPUT
    assert "test_s.py::test_param[a b]" in found.passed  # a space inside a parameter id
    assert found.failed == {"test_s.py::test_fail", "test_s.py::test_error"}
    assert found.skipped == {"test_s.py::test_skip", "test_s.py::test_xfail"}
    assert len(found.ids) == 10


def test_cargo_libtest_text_keeps_targets_apart_and_doctests_stable() -> None:
    found = text_results(recorded("cargo.txt"))
    assert found.passed == {
        "src/lib.rs::tests::it_works",
        "tests/integration.rs::it_works",  # the same name in another target is another test
        "doc-tests ct::src/lib.rs - add",  # no "(line 3)": it moves when the file above changes
    }
    assert found.failed == {"src/lib.rs::tests::it_fails"}
    assert found.skipped == {"src/lib.rs::tests::ignored", "src/lib.rs::tests::ignored_reason"}


def test_unittest_verbose_text_with_docstrings_subtests_and_expected_failures() -> None:
    found = text_results(recorded("unittest-v.txt"))
    assert found.passed == {"test_u.Calc.test_add", "test_u.Calc.test_doc"}
    assert found.failed == {
        "test_u.Calc.test_err", "test_u.Calc.test_fail",
        "test_u.Calc.test_sub",  # one of its subtests failed
        "test_u.Calc.test_xp",  # an unexpected success fails the run
    }  # fmt: skip
    assert found.skipped == {"test_u.Calc.test_skip", "test_u.Calc.test_xf"}
    older = "test_add (test_u.Calc) ... ok\ntest_bad (test_u.Calc) ... FAIL\n"  # before 3.11
    assert text_results(older).passed == {"test_u.Calc.test_add"}


def test_go_test_json_per_test_events_and_a_package_that_did_not_build() -> None:
    found = go_json_results(recorded("go-test.jsonl"))
    assert found.source == GO_JSON
    assert found.passed == {"example.com/calc::TestAdd"}
    assert found.failed == {"example.com/calc::TestDiv", "example.com/calc::TestDiv/by_zero"}
    assert found.skipped == {"example.com/calc::TestSlow"}
    # The JSON's own "--- PASS" output lines are not read a second time as text.
    assert read_results(recorded("go-test.jsonl")) == found


def test_a_summary_that_names_only_failures_leaves_the_ids_unknown() -> None:
    quiet = "..F\nFAILED tests/test_a.py::test_b - assert 1 == 2\n1 failed, 2 passed in 0.1s\n"
    found = text_results(quiet)
    assert not found.known  # which tests passed, the output does not say
    assert found.failed == {"tests/test_a.py::test_b"}  # still what the baseline compares
    assert failed_test_ids(quiet) == {"tests/test_a.py::test_b"}
    assert not text_results("ok  \texample.com/calc\t0.01s\n").known
    assert text_results(recorded("unittest-v.txt").replace(" ... ok", " ... FAIL")).known
    assert failed_test_ids("FAILED (failures=2, errors=1)\n") == frozenset()


def test_results_round_trip_through_the_store_json() -> None:
    found = junit_results([RECORDED / "pytest-junit.xml"])
    assert Results.from_json(found.as_json()) == found


def test_judge_tests_counts_only_new_failures_read_by_the_one_parser() -> None:
    results = junit_results([RECORDED / "pytest-junit.xml"])
    known = {"test_s::test_fail", "test_s::test_error"}
    assert judge_tests(1, "", known, results=results).ok
    verdict = judge_tests(1, "", {"test_s::test_fail"}, results=results)
    assert not verdict.ok and verdict.reason == "tests failed (exit 1): test_s::test_error"


def test_a_broken_or_huge_report_is_not_read(tmp_path: Path) -> None:
    cut = tmp_path / "cut.xml"
    cut.write_text(recorded("pytest-junit.xml")[:300])  # a run killed while writing it
    assert not junit_results([cut, tmp_path / "missing.xml"]).known


def test_plan_says_where_the_ids_will_come_from() -> None:
    assert ids_note("python -m pytest -q") == "test ids from pytest's JUnit XML"
    assert ids_note("npm test", ["junit.xml"]) == "test ids from the test_reports files"
    assert ids_note("go test ./...").startswith("test ids unknown: only the exit status")
    assert ids_note("go test -json ./...") == "test ids from go test's output"
    assert ids_note("make test").startswith("test ids are read at the baseline run")


# --- the test bed asks and reads -----------------------------------------------------------------
def test_pytest_is_asked_for_junit_xml_after_the_users_own_addopts(tmp_path: Path) -> None:
    log = tmp_path / "logs with space" / "tests.log"
    tests = testbed.TestCommand(("pytest",), {"PYTEST_ADDOPTS": "-x"}, 60)
    env = testbed.environment_for(tests, log)
    assert env["PYTEST_ADDOPTS"] == f"-x '--junitxml={testbed.report_dir(log)}/pytest-junit.xml'"
    assert testbed.report_dir(log) == tmp_path / "logs with space" / "tests.reports"
    plugin_off = testbed.TestCommand(("pytest", "-p", "no:junitxml"), {}, 60)
    assert "PYTEST_ADDOPTS" not in testbed.environment_for(plugin_off, log)  # it would refuse


def test_a_real_pytest_run_is_read_from_its_junit_xml(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "tests").mkdir(parents=True)
    (checkout / "tests" / "test_x.py").write_text(
        "import pytest\n\ndef test_a(): pass\n\n@pytest.mark.skip\ndef test_b(): pass\n"
    )
    tests = testbed.TestCommand((sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
                        dict(os.environ), 60)  # fmt: skip
    outcome = asyncio.run(testbed.run_tests(tests, cwd=checkout, log=tmp_path / "t.log", tag="t"))
    assert outcome.passed and outcome.results.source == JUNIT
    assert outcome.results.passed == {"tests.test_x::test_a"}
    assert outcome.results.skipped == {"tests.test_x::test_b"}
    assert not list(checkout.rglob("*.xml"))  # the report went beside the log, not in here


JUNIT_WRITER = textwrap.dedent(
    """\
    import pathlib, sys
    out = pathlib.Path("build/reports")
    out.mkdir(parents=True, exist_ok=True)
    (out / "TEST-calc.xml").write_text(
        '<testsuite><testcase classname="calc.CalcTest" name="adds"/>'
        '<testcase classname="calc.CalcTest" name="divides"><failure/></testcase></testsuite>')
    """
)


def test_test_reports_globs_read_only_files_the_run_wrote(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    stale = checkout / "build" / "reports" / "TEST-old.xml"
    stale.parent.mkdir(parents=True)
    stale.write_text('<testsuite><testcase classname="old" name="forged"/></testsuite>')
    (checkout / "writer.py").write_text(JUNIT_WRITER)
    tests = testbed.TestCommand((sys.executable, "writer.py"), {}, 60, ("build/reports/*.xml",))
    outcome = asyncio.run(testbed.run_tests(tests, cwd=checkout, log=tmp_path / "t.log", tag="t"))
    assert outcome.results.passed == {"calc.CalcTest::adds"}  # not "old::forged"
    assert outcome.results.failed == {"calc.CalcTest::divides"}


def test_go_json_printed_by_the_test_command_is_read(tmp_path: Path) -> None:
    (tmp_path / "events.jsonl").write_text(recorded("go-test.jsonl"))
    printer = "import sys; sys.stdout.write(open('events.jsonl').read()); sys.exit(1)"
    tests = testbed.TestCommand((sys.executable, "-c", printer), {}, 60)
    outcome = asyncio.run(testbed.run_tests(tests, cwd=tmp_path, log=tmp_path / "t.log", tag="t"))
    assert outcome.results == go_json_results(recorded("go-test.jsonl"))


# --- which files are tests ---------------------------------------------------------------------
def test_test_files_and_runner_configuration_are_recognised_by_name_and_place() -> None:
    tests = ["test_a.py", "pkg/a_test.py", "conftest.py", "cmd/x_test.go", "src/a.test.ts",
             "web/b.spec.jsx", "tests/data/input.json", "src/test/java/CalcTest.java",
             "ui/__tests__/App.js"]  # fmt: skip
    assert all(is_test_file(p) for p in tests)
    assert not any(is_test_file(p) for p in ["calc.py", "testing.py", "src/contest.ts"])
    configs = ["conftest.py", "sub/conftest.py", "pytest.ini", "tox.ini", "jest.config.js",
               "vitest.config.mts", ".mocharc.yml", "Makefile"]  # fmt: skip
    assert all(is_whole_config(p) for p in configs)
    assert not is_whole_config("pyproject.toml")  # only its pytest section, read by content
