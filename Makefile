# Two commands for a fresh machine (Python 3.11 and make): `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# upload_url values must point at the server `make run` starts.
export IMGWIRE_PUBLIC_URL ?= http://$(HOST):$(PORT)

.PHONY: run test install lint bench clean browser

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet ".[dev]"
	@$(MAKE) --no-print-directory browser
	touch $@

# Browser tests launch Debian's Chromium by path (no browser download at test time).
browser:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else echo "Install Debian's chromium package (sudo apt-get install chromium)."; exit 1; fi; }

install: $(VENV)/.installed

run: install
	$(PY) manage.py migrate --noinput
	@echo "Demo account (organization, environment, keys):"
	@$(PY) manage.py bootstrap --organization Demo --environment Production \
		--email demo@example.com --password imgwire-demo --operator
	@echo "Sign in at $(IMGWIRE_PUBLIC_URL)/dashboard/ (operators: /admin/) as demo@example.com / imgwire-demo"
	$(PY) manage.py runserver $(HOST):$(PORT)

test: install
	$(PY) scripts/run_tests.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install
	$(PY) bench/uploads.py

clean:
	rm -rf $(VENV) var
