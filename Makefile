# Two commands on a fresh machine with python3 and git: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean-venv browser sandbox screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Benchmarks are never part of `make test`: they print measured ratios and gate on nothing.
$(VENV)/.bench-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

demo: $(VENV)/.demo-installed
	$(BIN)/issuewave demo $(DIR)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/ruff format --check src tests benchmarks docs
	$(BIN)/mypy

# The dashboard tests drive Debian's chromium through Playwright; Playwright's own browser
# downloads are never used. Installed with apt-get when missing (as root, or through sudo).
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    chromium fonts-dejavu-core >/dev/null; }
	@test -x $(CHROMIUM) || { echo "make test needs $(CHROMIUM): apt-get install chromium" >&2; exit 1; }

# The sandbox tests run bubblewrap itself; installed with apt-get when missing, as chromium is.
BWRAP ?= /usr/bin/bwrap
sandbox:
	@test -x $(BWRAP) || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    bubblewrap >/dev/null; }
	@test -x $(BWRAP) || { echo "make test needs $(BWRAP): apt-get install bubblewrap" >&2; exit 1; }

test: lint browser sandbox
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

# The README's pictures, from one real demo run: tmux for the terminal, chromium for the pages,
# a colour emoji font for the report's status marks.
screenshots: $(VENV)/.dev-installed $(VENV)/.demo-installed browser
	@command -v tmux >/dev/null && test -d /usr/share/fonts/truetype/noto || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    tmux fonts-noto-color-emoji >/dev/null; }
	$(BIN)/python docs/screenshots.py

clean-venv:
	rm -rf $(VENV)
