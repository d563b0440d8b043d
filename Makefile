# Two commands for a fresh Debian 12 machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements/dev.txt

.PHONY: test demo system postgres venv lint typecheck contracts pytest bench lock clean

system:
	@scripts/bootstrap-system.sh

postgres:
	@scripts/postgres-start.sh

# Exactly the locked versions, each checked against its hash; then the project itself.
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	@$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

contracts: venv
	$(BIN)/lint-imports

# One worker a core (pytest-xdist): a module whole in one worker, the card tests together
# (tests/conftest.py).
WORKERS ?= auto
pytest: venv
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest -n $(WORKERS) $(PYTEST_ARGS)

test: system postgres venv lint typecheck contracts pytest

demo: system venv
	@scripts/demo.sh

bench: system postgres venv
	@for b in bench/*.py; do $(BIN)/python $$b; done

# The locks with hashes, from pyproject.toml: one per side (kiosk, central) and the dev one.
lock: venv
	@for side in kiosk central dev; do \
		$(BIN)/uv pip compile pyproject.toml --extra $$side --generate-hashes --universal \
			--python-version 3.11 --no-header --quiet -o requirements/$$side.txt; \
	done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
