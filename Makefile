# drbot: `make run` starts the embedded default, `make test` runs every check.
# Both create .venv from pyproject.toml on first use; nothing needs installing by hand.
# `make run` installs what running needs (pyproject's `dependencies`); `make test` adds the `test`
# and `lint` extras to the same .venv. Each has its own stamp: `make run` after `make test`
# installs nothing, `make test` after `make run` installs only the extras.
# The installer is uv (from PyPI, put in .venv/uv by pip on first use); where it cannot be had,
# pip in the venv does the same installs, slower.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(VENV)/uv/bin/uv
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
# pytest's workers: one per core (pytest-xdist); PYTEST_WORKERS=0 runs the tests in one process
PYTEST_WORKERS ?= auto
TEST_EXTRAS := test,lint

# pip_install ARGS: uv if the bootstrap got it, else the venv's own pip
pip_install = if [ -x $(UV) ]; then $(UV) pip install --quiet --python $(BIN)/python $(1); \
	else $(BIN)/python -m pip install --quiet $(1); fi

.PHONY: install install-test run test test-large lint typecheck unit bench bench-import bench-wake clean

$(VENV)/pyvenv.cfg:
	$(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
		--target $(VENV)/uv uv \
		|| { rm -rf $(VENV)/uv; $(BIN)/python -m ensurepip --upgrade --default-pip; }

$(RUN_STAMP): pyproject.toml | $(VENV)/pyvenv.cfg
	$(call pip_install,-e .)
	touch $@

# uv does not compile bytecode at install: `make unit` writes it for the modules the tests import,
# a fraction of the 490 MB (compiling all of it took 12 s of a fresh clone's `make test`)
$(TEST_STAMP): $(RUN_STAMP)
	$(call pip_install,-e '.[$(TEST_EXTRAS)]')
	touch $@

install: $(RUN_STAMP)

install-test: $(TEST_STAMP)

run: $(RUN_STAMP)
	$(BIN)/drbot

# lint-imports: the layers and forbidden imports of pyproject's [tool.importlinter] (docs/architecture.md)
lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

# the service-level tests run on SQLite here; the store suites, crash safety, concurrency and chaos
# on SQLite and DynamoDB (moto); tests/conftest.py says why
# Bytecode is written even where PYTHONDONTWRITEBYTECODE is set: the drbot processes the tests start
# then compile drbot once, not each, and pytest keeps its rewritten test modules for the next run.
unit: export PYTHONDONTWRITEBYTECODE :=
unit: $(TEST_STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal

# ruff and import-linter, mypy and pytest side by side: lint and mypy are one process each, a few
# seconds beside the minutes of pytest's workers; any of them failing fails `make test`
test: $(TEST_STAMP)
	$(MAKE) --no-print-directory -j3 lint typecheck unit

# every test on every store: the service-level tests on DynamoDB (moto) too, crash safety at more
# crash points (--all-stores), and the 4,000-server drills on SQLite and DynamoDB (-m '': the
# `large` ones too). Minutes of CPU beyond `make test`, so not part of it
test-large: $(TEST_STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal --all-stores -m ''

bench: $(TEST_STAMP)
	$(BIN)/python -m bench

bench-import: $(TEST_STAMP)
	$(BIN)/python -m bench.import_cost --traced

bench-wake: $(TEST_STAMP)
	$(BIN)/python -m bench.wake

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
