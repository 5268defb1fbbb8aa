# Referral Pathways: `make run` to try it, `make test` to check it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app referrals
HOST ?= 127.0.0.1
PORT ?= 5000
DEMO_REFERRALS ?= 5000
DEMO_SEED ?= 1
INSTANCE ?= instance
export INSTANCE_PATH := $(abspath $(INSTANCE))
SECRET := SECRET_KEY="$${SECRET_KEY:-$$(cat $(INSTANCE)/secret_key)}" \
	DATA_ENCRYPTION_KEYS="$${DATA_ENCRYPTION_KEYS:-$$(cat $(INSTANCE)/data_key)}"

.PHONY: run test install install-test db demo serve lint format bench clean help

help:
	@echo "make run    set up .venv, the SQLite database and demo data, and serve http://$(HOST):$(PORT)"
	@echo "make test   install the test tools and run the whole test suite"
	@echo "make serve  upgrade the database, serve with gunicorn and send notifications (DATABASE_URL, SECRET_KEY, DATA_ENCRYPTION_KEYS, BIND)"
	@echo "make lint   ruff check and format check"
	@echo "make bench  run the benchmarks under bench/"

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# A secret key for this machine's local server, made once and kept in instance/.
$(INSTANCE)/secret_key:
	@mkdir -p $(INSTANCE)
	@umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_hex(32))' > $@

# The key that encrypts personal data in this machine's local database (a Fernet key:
# 32 random bytes, URL-safe base64), made once and kept in instance/.
$(INSTANCE)/data_key:
	@mkdir -p $(INSTANCE)
	@umask 077 && $(PYTHON) -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())' > $@

db: install $(INSTANCE)/secret_key $(INSTANCE)/data_key
	$(SECRET) $(FLASK) db upgrade
	$(SECRET) $(FLASK) seed-reference

demo: db
	$(SECRET) $(FLASK) seed-demo --referrals $(DEMO_REFERRALS) --seed $(DEMO_SEED)

run: demo
	@echo
	@echo "Referral Pathways is starting at http://$(HOST):$(PORT)"
	@echo "Demo accounts (password: demo-password):"
	@echo "  custody@demo.test   custody officer: make and follow referrals"
	@echo "  provider@demo.test  service provider: worklist and listings"
	@echo "  lead@demo.test      area lead: reports and targets"
	@echo "  admin@demo.test     administrator: users, areas, imports, feedback, audit log"
	@echo "Messages (notifications) are printed below by the sender, not emailed."
	@echo "Press Ctrl+C to stop."
	@echo
	@$(SECRET) $(FLASK) send-notifications & sender=$$!; \
	trap 'kill -TERM $$sender 2>/dev/null; wait $$sender' EXIT INT TERM; \
	$(SECRET) $(FLASK) run --host $(HOST) --port $(PORT)

# Production-style: gunicorn workers (gunicorn.conf.py) on DATABASE_URL (PostgreSQL or the
# SQLite default), after bringing the schema and the reference data up to date, with the
# notification sender beside them (stopping the server stops the sender too).
serve: install $(INSTANCE)/secret_key $(INSTANCE)/data_key
	$(SECRET) $(FLASK) db upgrade
	$(SECRET) $(FLASK) seed-reference
	@$(SECRET) $(FLASK) send-notifications & sender=$$!; \
	trap 'kill -TERM $$sender 2>/dev/null; wait $$sender' EXIT INT TERM; \
	$(SECRET) $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# The suite in parallel (TEST_WORKERS=1 for one process), each worker with its own
# database. Twice as many workers as CPUs: the browser tests and the command-line tests
# spend much of their time waiting for other processes.
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(2 * len(os.sched_getaffinity(0)))')
test: install-test
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Each benchmark prints its figures; together they take several minutes.
bench: install
	$(BIN)/python bench/seed_referrals.py
	$(BIN)/python bench/directory.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/statements.py
	$(BIN)/python bench/contacts.py
	$(BIN)/python bench/load.py

clean:
	rm -rf $(VENV) .pytest_cache test-output
