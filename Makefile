# Two commands do all the set-up:  `make run`  and  `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app lms_plugin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test audit bench install install-test translations catalogue migrate demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed translations
install-test: $(VENV)/.installed-test translations

translations: $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d lms_plugin/translations -D messages --statistics 2>&1 | tail -n 2
	$(BIN)/pybabel compile -d lms_plugin/xblocks/translations -D text --statistics 2>&1 | tail -n 2

## make catalogue: extract every string to translate into the app's and the blocks' catalogues; then translate
## what is new (empty msgstr) in lms_plugin/translations/lt and lms_plugin/xblocks/translations/lt
catalogue: $(VENV)/.installed
	$(BIN)/pybabel extract --no-location --sort-output -F babel.cfg -k _l -o lms_plugin/translations/messages.pot lms_plugin
	$(BIN)/pybabel update -N --ignore-obsolete -w 100 -l lt -i lms_plugin/translations/messages.pot -d lms_plugin/translations -D messages
	$(BIN)/pybabel update -N --ignore-obsolete -l en -i lms_plugin/translations/messages.pot -d lms_plugin/translations -D messages
	$(BIN)/pybabel extract --no-location --sort-output -k N_ -o lms_plugin/xblocks/translations/text.pot lms_plugin/xblocks
	$(BIN)/pybabel update -N --ignore-obsolete -w 100 -l lt -i lms_plugin/xblocks/translations/text.pot -d lms_plugin/xblocks/translations -D text
	$(BIN)/pybabel update -N --ignore-obsolete -l en -i lms_plugin/xblocks/translations/text.pot -d lms_plugin/xblocks/translations -D text

migrate: install
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) demo load

## make run: install, create and migrate the SQLite database, load the demo data, serve on http://127.0.0.1:5000
run: demo
	@$(FLASK) demo logins
	@echo "Serving on http://$(HOST):$(PORT)  (Ctrl+C to stop)"
	$(BIN)/waitress-serve --host $(HOST) --port $(PORT) --threads 8 --call lms_plugin:create_app

## make test: install the test dependencies, check the architecture, run every suite (SQLite, then PostgreSQL),
## then audit the installed dependencies
test: install-test
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest
	$(BIN)/python tests/postgres_run.py
	$(BIN)/python tests/dependency_audit.py

## make audit: the strict audit: every installed dependency checked against PyPI's vulnerability data
## (pypi.org/pypi/NAME/VERSION/json); a dependency the service cannot answer for fails it too.
audit: install-test
	@$(BIN)/pip-audit --strict --skip-editable --progress-spinner off || { \
	  echo "pip-audit failed: a dependency has a known vulnerability (upgrade it in pyproject.toml), or PyPI's" \
	       "vulnerability service could not answer for it (the ERROR line above names which)." >&2; exit 1; }

## make bench: the benchmarks with their figures (one BLAS thread: steadier on a busy 2-core machine)
bench: install-test
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest tests/benchmarks --benchmark-enable -q -s

clean:
	rm -rf $(VENV) instance/training.sqlite3* .pytest_cache
