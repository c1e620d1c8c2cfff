# Two commands for a fresh machine (Python 3.11 and make): `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
# Every dependency, direct and transitive, pinned (refresh: `make lock`).
CONSTRAINTS := constraints.txt

.PHONY: run test install install-runtime lint bench clean browser node-clients lock screenshots

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# `make run` needs only what the product runs on.
$(VENV)/.runtime: pyproject.toml $(CONSTRAINTS) | $(VENV)/bin/python
	$(PIP) install --quiet -c $(CONSTRAINTS) -e .
	touch $@

# Tests add their tools (pytest, moto, Playwright, schemathesis…), Debian's Chromium and
# the vendors' JavaScript clients (tests/clients, pinned by its package-lock.json).
$(VENV)/.installed: pyproject.toml $(CONSTRAINTS) $(VENV)/.runtime tests/clients/package-lock.json
	$(PIP) install --quiet -c $(CONSTRAINTS) -e ".[dev]"
	@$(MAKE) --no-print-directory browser node-clients
	touch $@

node-clients:
	@command -v npm >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; \
		else echo "Install Node.js 20 and npm (sudo apt-get install nodejs npm)."; exit 1; fi; }
	npm ci --prefix tests/clients --no-audit --no-fund --loglevel=error

# Browser tests launch Debian's Chromium by path (no browser download at test time).
browser:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else echo "Install Debian's chromium package (sudo apt-get install chromium)."; exit 1; fi; }

install-runtime: $(VENV)/.runtime

install: $(VENV)/.installed

run: install-runtime
	$(PY) scripts/run.py --host $(HOST) --port $(PORT)

test: install
	$(PY) scripts/run_tests.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Re-resolve every dependency from pyproject.toml into constraints.txt (needs the registry).
lock:
	$(PY) scripts/lock.py

# A PNG of every dashboard page at desktop and phone sizes in var/screenshots/ (look at them).
screenshots: install
	$(PY) scripts/screenshots.py

bench: install
	$(PY) bench/uploads.py

clean:
	rm -rf $(VENV) var
