from __future__ import annotations

from pathlib import Path

import pytest

from issuewave.errors import InputError
from issuewave.forges.local_issues import read_issue_file, read_issues_dir


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        read_issue_file(path)
    assert caught.value.exit_code == 2
    return caught.value.message


def test_reads_front_matter_and_body(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "3.md",
        "---\nnumber: 3\ntitle: '  Store notes as JSON  '\nlabels: [storage, design]\n"
        "depends_on: [2]\n---\n\n\n  Indented first line.\n\nDepends on #1 and #2\n\n\n",
    )
    issue = read_issue_file(path)
    assert issue.number == 3
    assert issue.title == "Store notes as JSON"
    assert issue.labels == ("storage", "design")
    assert issue.depends_on == (1, 2)
    assert issue.state == "open"
    assert issue.body == "  Indented first line.\n\nDepends on #1 and #2"
    assert issue.source == str(path)


def test_defaults_and_a_single_dependency(tmp_path: Path) -> None:
    issue = read_issue_file(
        write(tmp_path, "a.md", "---\nnumber: 5\ntitle: T\ndepends_on: 4\n---\n")
    )
    assert (issue.labels, issue.depends_on, issue.state, issue.body) == ((), (4,), "open", "")


def test_closed_state(tmp_path: Path) -> None:
    issue = read_issue_file(
        write(tmp_path, "a.md", "---\nnumber: 5\ntitle: T\nstate: closed\n---\n")
    )
    assert issue.state == "closed"


def test_titles_are_kept_as_written(tmp_path: Path) -> None:
    title = 'He said "hi" 🎉 $(rm -rf /) ' + "x" * 480
    text = f"---\nnumber: 1\ntitle: 'He said \"hi\" 🎉 $(rm -rf /) {'x' * 480}'\n---\n"
    assert read_issue_file(write(tmp_path, "a.md", text)).title == title
    two_lines = read_issue_file(write(tmp_path, "b.md", '---\nnumber: 2\ntitle: "a\\nb"\n---\n'))
    assert two_lines.title == "a\nb"


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.md", "---\nnumber: 1\ntitle: [unclosed\nlabels: []\n---\nbody\n")
    message = error_of(path)
    assert message.startswith(f"{path}:")
    assert "malformed YAML front matter" in message
    # The flow list opened on file line 3 is still open when the front matter ends.
    line = int(message.split(":")[1])
    assert 3 <= line <= 5


def test_malformed_yaml_line_is_offset_to_file_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.md", "---\nnumber: 1\ntitle: ok\nlabels: a: b\n---\n")
    assert error_of(path).startswith(f"{path}:4: malformed YAML front matter")


def test_missing_closing_delimiter(tmp_path: Path) -> None:
    path = write(tmp_path, "open.md", "---\nnumber: 1\ntitle: T\n\nbody\n")
    assert error_of(path) == (
        f"{path}: the front matter opened on line 1 is never closed by a '---' line"
    )


def test_no_front_matter(tmp_path: Path) -> None:
    path = write(tmp_path, "plain.md", "# Just a note\n")
    assert error_of(path) == f"{path}:1: no front matter: the first line must be '---'"


@pytest.mark.parametrize("front_matter", ["- 1\n- 2", "just text"])
def test_front_matter_must_be_a_mapping(tmp_path: Path, front_matter: str) -> None:
    path = write(tmp_path, "a.md", f"---\n{front_matter}\n---\n")
    assert error_of(path).startswith(f"{path}:2: the front matter must be 'key: value' lines")


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "a.md", "---\nnumber: 1\ntitle: T\nassignee: bob\n---\n")
    message = error_of(path)
    assert message.startswith(f"{path}:4: unknown key 'assignee'")
    assert "depends_on" in message  # the known keys are listed


@pytest.mark.parametrize(
    ("line", "key", "expected"),
    [
        ("number: true", "number", "a positive whole number"),
        ("number: '7'", "number", "a positive whole number"),
        ("number: 0", "number", "a positive whole number"),
        ("title: 2024", "title", "a non-empty text"),
        ("title: '   '", "title", "a non-empty text"),
        ("labels: bug", "labels", "a list of texts"),
        ("depends_on: ['#3']", "depends_on", "an issue number or a list of issue numbers"),
        ("depends_on: [yes]", "depends_on", "an issue number or a list of issue numbers"),
        ("state: Open", "state", "'open' or 'closed'"),
    ],
)
def test_wrong_type_names_key_and_expectation(
    tmp_path: Path, line: str, key: str, expected: str
) -> None:
    fields = {"number": "number: 1", "title": "title: T"}
    fields[key] = line  # replaces a required key in place, or adds a third line
    lines = list(fields.values())
    path = write(tmp_path, "a.md", "---\n" + "\n".join(lines) + "\n---\n")
    message = error_of(path)
    assert f"'{key}' must be {expected}" in message
    line_number = 2 + lines.index(line)
    assert message.startswith(f"{path}:{line_number}: ")


@pytest.mark.parametrize("missing", ["number", "title"])
def test_missing_required_key(tmp_path: Path, missing: str) -> None:
    present = "title: T" if missing == "number" else "number: 1"
    path = write(tmp_path, "a.md", f"---\n{present}\n---\n")
    assert f"missing required key '{missing}'" in error_of(path)


def test_empty_front_matter_reports_missing_keys(tmp_path: Path) -> None:
    assert "missing required key 'number'" in error_of(write(tmp_path, "a.md", "---\n---\n"))


def test_directory_is_read_in_name_order(tmp_path: Path) -> None:
    write(tmp_path, "b.md", "---\nnumber: 1\ntitle: B\n---\n")
    write(tmp_path, "a.md", "---\nnumber: 2\ntitle: A\n---\n")
    write(tmp_path, "notes.txt", "not an issue")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "c.md", "---\nnumber: 3\ntitle: C\n---\n")
    assert [i.number for i in read_issues_dir(tmp_path)] == [2, 1]


def test_readme_without_front_matter_is_skipped(tmp_path: Path) -> None:
    write(tmp_path, "README.md", "# Issues\nOne file per issue.\n")
    write(tmp_path, "1.md", "---\nnumber: 1\ntitle: T\n---\n")
    assert [i.number for i in read_issues_dir(tmp_path)] == [1]


def test_readme_with_front_matter_is_an_issue(tmp_path: Path) -> None:
    write(tmp_path, "README.md", "---\nnumber: 4\ntitle: Write the README\n---\n")
    assert [i.number for i in read_issues_dir(tmp_path)] == [4]


def test_other_file_without_front_matter_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "notes.md", "# Notes\n")
    with pytest.raises(InputError, match=r"notes\.md:1: no front matter"):
        read_issues_dir(tmp_path)


def test_duplicate_numbers_name_both_files(tmp_path: Path) -> None:
    first = write(tmp_path, "a.md", "---\nnumber: 7\ntitle: A\n---\n")
    second = write(tmp_path, "b.md", "---\nnumber: 7\ntitle: B\n---\n")
    with pytest.raises(InputError) as caught:
        read_issues_dir(tmp_path)
    assert caught.value.message == f"issue #7 is defined twice: in {first} and in {second}"


def test_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "issues"
    with pytest.raises(InputError) as caught:
        read_issues_dir(missing)
    assert str(missing) in caught.value.message
    assert "issues_dir" in (caught.value.hint or "")
    assert "mkdir" in (caught.value.hint or "")


def test_not_utf8_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_bytes(b"---\nnumber: 1\ntitle: caf\xe9\n---\n")
    assert error_of(path).startswith(f"{path}: not UTF-8 text")


def test_impossible_date_is_an_input_error(tmp_path: Path) -> None:
    path = write(tmp_path, "a.md", "---\nnumber: 1\ntitle: 2024-13-45\n---\n")
    assert error_of(path).startswith(f"{path}: malformed YAML front matter: month must be")
