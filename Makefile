# Set-up and checks. Only Python 3.11, make and git are assumed; everything else is installed here.
PYTHON ?= python3.11
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test lint types imports pytest clean record-histories bench

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv>=0.5"

$(BIN)/cdtrack: $(UV) pyproject.toml uv.lock
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --python $(PYTHON)
	@touch $@

install: $(BIN)/cdtrack

run: install
	$(BIN)/cdtrack up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: install
	$(BIN)/mypy

# The layering contracts in pyproject.toml: no package imports one above it, no cycles inside one.
imports: install
	$(BIN)/lint-imports

pytest: install
	$(BIN)/pytest -q

test: lint types imports pytest

clean:
	rm -rf $(TOOLS) $(VENV) .cdtrack

# Re-record the workflow histories the replay test replays (after a deliberate, versioned change).
record-histories: install
	CDTRACK_RECORD_HISTORIES=1 $(BIN)/pytest -q tests/workflows/test_operation_workflow.py

# What an operation costs against the Temporal floor, on an embedded stack of its own (about ten
# minutes). BENCH_ARGS="--quick" for a smoke run; "--postgres-url URL" for a PostgreSQL read model.
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)
