# Candor. `make run` serves the app with demo data on SQLite; `make test` runs the suite;
# `make check` runs lint, format, type and security checks, then the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
# The address Candor is reached at under `make run`: the sign-in address printed, e-mail links
# and the certificates' QR codes and verify links point to it. CANDOR_BASE_URL, when set, wins.
RUN_BASE_URL = $(or $(CANDOR_BASE_URL),http://127.0.0.1:$(PORT))
FLASK := $(BIN)/flask --app app
STAMP := $(VENV)/.installed
# semgrep lives in a venv of its own: it pins versions of click and wrapt older than Flask's.
TOOLS := .venv-tools
SEMGREP_OFFLINE := --metrics=off --disable-version-check

.PHONY: run test check lint format types security bench system-check clean

system-check:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || { \
	  echo "Candor needs Python 3.11 or newer as '$(PYTHON)' (found: $$($(PYTHON) --version 2>&1))."; \
	  echo "On Debian/Ubuntu: sudo apt-get install python3 python3-venv"; exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  echo "Python's venv module is missing. On Debian/Ubuntu: sudo apt-get install python3-venv"; \
	  exit 1; }
	@/sbin/ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' || { \
	  echo "Pango is missing (WeasyPrint needs it for the PDF certificates)."; \
	  echo "On Debian/Ubuntu: sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0"; \
	  exit 1; }
	@/sbin/ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset.so.0' || \
	  echo "Warning: libharfbuzz-subset0 is missing; every PDF will take ~10x longer (apt-get install libharfbuzz-subset0)."

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-check
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

instance/secret_key:
	@mkdir -p instance
	@umask 077; $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))' > $@
	@echo "Wrote a new secret key to $@ (keep it out of version control)."

run: $(STAMP) instance/secret_key
	$(FLASK) db upgrade
	$(FLASK) courses sync courses/
	CANDOR_BASE_URL='$(RUN_BASE_URL)' $(FLASK) demo
	@echo "Candor is at http://127.0.0.1:$(PORT)/: sign in at $(RUN_BASE_URL)/login (Ctrl-C stops it and its job worker)."
	@# One command starts everything: a job worker (exports, e-mail, scheduled work; on the
	@# SQLite queue instance/jobs.sqlite3) in the background, then the web server. A
	@# background job ignores Ctrl-C in a script, so the trap stops the worker when make ends.
	@export CANDOR_BASE_URL='$(RUN_BASE_URL)'; \
	  $(FLASK) jobs worker & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	  $(FLASK) run --host 127.0.0.1 --port $(PORT)

node_modules/.installed: package.json
	@if command -v npm >/dev/null; then npm install --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: browser tests will skip (apt-get install npm chromium to run them)."; fi

# Extra pytest arguments pass through: make test ARGS="-k quiz -x"
test: $(STAMP) node_modules/.installed
	$(BIN)/pytest $(ARGS)

check: lint types security test

bench: $(STAMP)
	$(BIN)/python benchmarks/learner_pages.py
	$(BIN)/python benchmarks/certificate_pdf.py
	$(BIN)/python benchmarks/submission.py
	$(BIN)/python benchmarks/exports.py

PY_SOURCES := app tests benchmarks migrations app.py

lint: $(STAMP)
	@# A worktree links .venv to a shared one: committed, that link would replace the real
	@# venv of every checkout it is merged into. Never track what .gitignore names.
	@tracked=$$(git ls-files -ci --exclude-standard); if [ -n "$$tracked" ]; then 	  echo "These ignored paths are committed; untrack them (git rm --cached <path>): $$tracked"; 	  exit 1; fi
	$(BIN)/ruff check $(PY_SOURCES)
	$(BIN)/ruff format --check $(PY_SOURCES)

format: $(STAMP)
	$(BIN)/ruff check --fix $(PY_SOURCES)
	$(BIN)/ruff format $(PY_SOURCES)

types: $(STAMP)
	$(BIN)/mypy

$(TOOLS)/bin/semgrep:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet 'semgrep>=1.185'

# bandit at medium severity and up (SECURITY.md); ruff's S rules also run with the lint.
# semgrep runs Candor's own rules (semgrep/candor.yml), offline: first their examples
# (semgrep/candor.py, .html), then the app and its templates.
security: $(STAMP) $(TOOLS)/bin/semgrep
	$(BIN)/bandit --quiet --recursive app --severity-level medium
	$(TOOLS)/bin/semgrep $(SEMGREP_OFFLINE) --test --quiet semgrep/
	$(TOOLS)/bin/semgrep scan $(SEMGREP_OFFLINE) --config semgrep/candor.yml --error --quiet app

clean:
	rm -rf $(VENV) $(TOOLS) node_modules .pytest_cache
