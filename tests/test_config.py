"""Configuration files, CLI overrides, validation messages, and test-command detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from issuewave.config import CONFIG_FILE, Config, detect_test_cmd, load_config, parse_duration
from issuewave.errors import InputError


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.write_text(text)
    return path


def load_error(root: Path, overrides: dict[str, object] | None = None) -> InputError:
    with pytest.raises(InputError) as caught:
        load_config(root, overrides)
    return caught.value


# --- sources and precedence -------------------------------------------------------------------
def test_defaults_without_any_file(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config == Config()
    assert config.jobs == 2
    assert config.timeout == 1800.0
    assert config.max_attempts == 2
    assert config.branch == "feature/issue-{number}"
    assert config.issues_dir == ".issuewave/issues"
    assert config.base is None and config.test_cmd is None


def test_dedicated_file_is_read(tmp_path: Path) -> None:
    write(tmp_path, CONFIG_FILE, 'jobs = 4\ntimeout = "30m"\npass_env = ["HTTP_PROXY"]\n')
    config = load_config(tmp_path)
    assert config.jobs == 4
    assert config.timeout == 1800.0
    assert config.pass_env == ("HTTP_PROXY",)


def test_pyproject_tool_section_is_read(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.issuewave]\njobs = 3\nbase = "develop"\n',
    )
    config = load_config(tmp_path)
    assert (config.jobs, config.base) == (3, "develop")


def test_pyproject_without_the_section_gives_defaults(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\n[tool.ruff]\nline-length = 1\n')
    assert load_config(tmp_path) == Config()


def test_dedicated_file_wins_over_pyproject(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.issuewave]\njobs = 3\nmax_attempts = 5\n")
    write(tmp_path, CONFIG_FILE, "jobs = 7\n")
    config = load_config(tmp_path)
    assert config.jobs == 7
    assert config.max_attempts == 2  # the files are not merged: .issuewave.toml is the source


def test_cli_overrides_win_over_the_file_and_none_means_not_given(tmp_path: Path) -> None:
    write(tmp_path, CONFIG_FILE, 'jobs = 4\nagent_cmd = "from-file"\ntimeout = "2h"\n')
    config = load_config(tmp_path, {"jobs": 1, "agent_cmd": None, "timeout": "90s"})
    assert config.jobs == 1
    assert config.agent_cmd == "from-file"
    assert config.timeout == 90.0


# --- errors name the key and the file ---------------------------------------------------------
def test_unknown_key_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, CONFIG_FILE, "jobs = 2\njbos = 4\n")
    error = load_error(tmp_path)
    assert "unknown key 'jbos'" in error.message
    assert str(path) in error.message
    assert error.exit_code == 2


def test_unknown_key_in_pyproject_names_the_section(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.issuewave]\ncolour = true\n")
    error = load_error(tmp_path)
    assert "'colour'" in error.message
    assert "pyproject.toml [tool.issuewave]" in error.message


@pytest.mark.parametrize("value", ['"four"', "true", "2.5"])
def test_wrong_type_for_jobs_names_the_key(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, CONFIG_FILE, f"jobs = {value}\n")
    error = load_error(tmp_path)
    assert "'jobs'" in error.message
    assert str(path) in error.message
    assert error.hint is not None and CONFIG_FILE in error.hint


def test_out_of_range_jobs_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, CONFIG_FILE, "jobs = 0\n")
    assert "'jobs'" in load_error(tmp_path).message


def test_a_bad_cli_value_blames_the_command_line(tmp_path: Path) -> None:
    write(tmp_path, CONFIG_FILE, "jobs = 2\n")
    error = load_error(tmp_path, {"jobs": "many"})
    assert "'jobs'" in error.message
    assert "command line" in error.message


def test_a_bad_file_is_reported_even_when_the_cli_overrides_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, CONFIG_FILE, 'jobs = "four"\n')
    error = load_error(tmp_path, {"jobs": 3})
    assert str(path) in error.message


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, CONFIG_FILE, "jobs = = 4\n")
    error = load_error(tmp_path)
    assert str(path) in error.message
    assert "not valid TOML" in error.message


def test_invalid_pyproject_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "pyproject.toml", "[tool.issuewave\n")
    assert str(path) in load_error(tmp_path).message


# --- durations --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30m", 1800.0),
        ("2h", 7200.0),
        ("90s", 90.0),
        ("90", 90.0),
        ("1.5m", 90.0),
        (" 5 m ", 300.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("toml", "seconds"), [('"30m"', 1800.0), ("90", 90.0), ("2.5", 2.5)])
def test_timeout_in_the_file(tmp_path: Path, toml: str, seconds: float) -> None:
    write(tmp_path, CONFIG_FILE, f"timeout = {toml}\n")
    assert load_config(tmp_path).timeout == seconds


@pytest.mark.parametrize("toml", ['"soon"', '"30x"', '"-5m"', '"m"', '"0"', "0", "true"])
def test_bad_timeout_is_an_error_naming_the_key(tmp_path: Path, toml: str) -> None:
    write(tmp_path, CONFIG_FILE, f"timeout = {toml}\n")
    assert "'timeout'" in load_error(tmp_path).message


def test_parse_duration_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("half an hour")


# --- name patterns ----------------------------------------------------------------------------
def test_branch_pattern_without_number_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, CONFIG_FILE, 'branch = "feature/{slug}"\n')
    error = load_error(tmp_path)
    assert "'branch'" in error.message
    assert "{number}" in error.message


def test_branch_pattern_with_number_and_slug_is_accepted(tmp_path: Path) -> None:
    write(tmp_path, CONFIG_FILE, 'branch = "iw/{number}-{slug}"\n')
    assert load_config(tmp_path).branch == "iw/{number}-{slug}"


def test_unknown_placeholder_in_commit_pattern_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, CONFIG_FILE, 'commit = "fix: {summary} (#{number})"\n')
    error = load_error(tmp_path)
    assert "'commit'" in error.message
    assert "{summary}" in error.message


def test_malformed_commit_pattern_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, CONFIG_FILE, 'commit = "fix: {title"\n')
    assert "'commit'" in load_error(tmp_path).message


# --- test command detection -------------------------------------------------------------------
def test_detect_makefile_with_a_test_target(tmp_path: Path) -> None:
    write(tmp_path, "Makefile", "build:\n\techo build\n\ntest: build\n\tpytest\n")
    write(tmp_path, "pyproject.toml", "[project]\nname = 'x'\n")
    assert detect_test_cmd(tmp_path) == "make test"


def test_detect_ignores_a_makefile_without_a_test_target(tmp_path: Path) -> None:
    write(tmp_path, "Makefile", "build:\n\techo build\ntests-helper:\n\ttrue\n")
    assert detect_test_cmd(tmp_path) is None


@pytest.mark.parametrize(
    ("marker", "command"),
    [
        ("pyproject.toml", "python3 -m pytest -q"),
        ("pytest.ini", "python3 -m pytest -q"),
        ("package.json", "npm test"),
        ("go.mod", "go test ./..."),
        ("Cargo.toml", "cargo test"),
    ],
)
def test_detect_from_project_files(tmp_path: Path, marker: str, command: str) -> None:
    write(tmp_path, marker, "")
    assert detect_test_cmd(tmp_path) == command


def test_detect_nothing(tmp_path: Path) -> None:
    write(tmp_path, "README.md", "hello\n")
    assert detect_test_cmd(tmp_path) is None
