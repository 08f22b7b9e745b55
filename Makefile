# The two commands of the README: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint typecheck unit bench clean

# Debian's chromium for the dashboard's end-to-end tests, checked on every run (the venv may predate it).
setup: $(STAMP)
	@test -x /usr/bin/chromium || { echo "installing chromium (dashboard end-to-end tests)"; apt-get update -qq && apt-get install -y -qq chromium; }

# A virtual environment from the system Python with the project (editable) and its dev group.
$(STAMP): pyproject.toml
	@command -v git >/dev/null || { echo "installing git"; apt-get update -qq && apt-get install -y -qq git; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e . --group dev
	@touch $@

# Build the demo organisation, run the whole graph on it (git, GitHub and Jira replayed, links,
# metrics, snapshot), write the board pack of the last closed sprint, then serve the dashboard on
# http://127.0.0.1:8501 until Ctrl-C.
demo: setup
	$(BIN)/sprintproof demo
	$(BIN)/sprintproof report
	$(BIN)/sprintproof dashboard

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/pyright

unit: setup
	$(BIN)/python -m pytest -q -n 2 -p no:cacheprovider

test: lint typecheck unit

# Benchmarks need a large repository: make bench REPO=/path/to/git.git
bench: setup
	$(BIN)/python benchmarks/bench_git_ingest.py $(REPO)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
