# Two commands do all set-up on a fresh machine: `make run` (the dashboard on the sample data) and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench install browser clean postgres

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the browser tests (Playwright drives it; no browser download) and the HTML/PDF reports
browser:
	@test -x /usr/lib/chromium/chromium || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver)

# PostgreSQL for the storage tests: Debian packages if missing, a throwaway server on 127.0.0.1
postgres:
	@scripts/ci_postgres.sh >/dev/null

run: install browser
	$(BIN)/riskmodel validate data/sample
	$(BIN)/riskmodel serve --data data/sample

lint: install
	$(BIN)/ruff check .

test: install browser lint postgres
	RISKMODEL_TEST_POSTGRES_URL="$$(scripts/ci_postgres.sh)" $(BIN)/python -m pytest -q

bench: install
	$(BIN)/python bench/bench_exposure.py
	$(BIN)/python bench/bench_simulate.py
	$(BIN)/python bench/bench_montecarlo.py

clean:
	rm -rf $(VENV) .pytest_cache
