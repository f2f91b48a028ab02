# Set-up and checks. Only Python 3.11, make and git are assumed; everything else is installed here.
PYTHON ?= python3.11
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test lint types imports pytest chromium clean record-histories bench screenshots deadcode

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv>=0.5"

$(BIN)/cdtrack: $(UV) pyproject.toml uv.lock
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --python $(PYTHON)
	@touch $@

# The console's npm-only assets (htmx), pinned and checked against the registry's sha512.
VENDORED := web/static/vendor/htmx.min.js web/static/vendor/htmx-ext-sse.js
$(VENDORED) &: web/vendor.py | $(BIN)/cdtrack
	$(BIN)/python -m web.vendor

install: $(BIN)/cdtrack $(VENDORED)

run: install
	$(BIN)/cdtrack up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: install
	$(BIN)/mypy

# Code nothing seems to call, for a person to judge (a listing, not a check: see [tool.vulture]).
deadcode: install
	-$(BIN)/vulture

# The layering contracts in pyproject.toml: no package imports one above it, no cycles inside one.
imports: install
	$(BIN)/lint-imports

# The browser tests drive Debian's Chromium: installed here when missing and running as root,
# else the run stops saying how to install it (the tests never skip).
chromium:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && apt-get install -y chromium; } || \
	  { echo "The browser tests need Debian's Chromium: sudo apt-get install -y chromium" >&2; exit 1; }

# Two pytest processes (pytest-xdist), each test file whole in one: the suite waits on servers
# and browsers as much as it computes, and takes about 10 minutes on two cores instead of 15.
PYTEST_PROCESSES ?= 2
pytest: install chromium
	$(BIN)/pytest -q -n $(PYTEST_PROCESSES) --dist loadfile

test: lint types imports pytest

clean:
	rm -rf $(TOOLS) $(VENV) .cdtrack

# Re-record the workflow histories the replay test replays (after a deliberate, versioned change).
record-histories: install
	CDTRACK_RECORD_HISTORIES=1 $(BIN)/pytest -q tests/workflows/test_operation_workflow.py

# The README's screenshots (docs/screenshots), retaken by the browser tests that take them; an
# ordinary test run takes them into its own temporary directory and leaves these as they are.
SCREENSHOT_TESTS := tests/web/test_browser_debrief.py::test_screenshots_of_the_console_for_each_kind_of_user \
	tests/web/test_browser_operation.py tests/web/test_browser_planning.py
screenshots: install chromium
	CDTRACK_WRITE_SCREENSHOTS=1 $(BIN)/pytest -q $(SCREENSHOT_TESTS)

# What an operation costs against the Temporal floor, on an embedded stack of its own (about twelve
# minutes). BENCH_ARGS="--quick" for a smoke run; "--postgres-url URL" for a PostgreSQL read model.
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)
