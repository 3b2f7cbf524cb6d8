# Two commands for a fresh clone: `make run` (the bot) and `make test` (the tests).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run shell test lint bench clean redis-server

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m bot

shell: $(STAMP)
	$(PY) -m bot shell

test: $(STAMP) redis-server
	$(PY) -m ruff check .
	$(PY) -m pytest -q

# The worker tests start a real redis-server; install it when this machine lacks it.
redis-server:
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "redis-server is missing: installing it with apt-get (needed by the worker tests)"; \
	  (apt-get update -qq && apt-get install -y -qq redis-server) >/dev/null 2>&1 || \
	  { echo "error: could not install redis-server; install it and rerun make test"; exit 1; }; }

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: $(STAMP)
	$(PY) bench/flow_bench.py

clean:
	rm -rf $(VENV) data .pytest_cache
