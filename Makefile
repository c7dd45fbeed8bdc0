# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
CHROMIUM := /usr/bin/chromium

.PHONY: run test install install-test browser-deps bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## make run: install, migrate, seed demo data on first run, serve on http://127.0.0.1:5000
run: install
	$(FLASK) db upgrade
	@if [ ! -f instance/.demo-seeded ]; then $(FLASK) cme seed-demo && touch instance/.demo-seeded; fi
	@echo "Serving on http://127.0.0.1:5000 (mail is written to instance/outbox/ unless MAIL_SERVER is set)"
	@$(FLASK) cme send-mail --loop --interval 5 & worker=$$!; trap "kill $$worker 2>/dev/null" EXIT INT TERM; \
		$(FLASK) run --host 127.0.0.1 --port 5000

## make test: install what the tests need, then run the whole suite. (`.venv/bin/pytest -n 2` runs it on two
## pytest-xdist workers, each with databases of its own: tests/helpers.py _per_worker; on this 2-core machine that
## was not faster, so the default stays one process.)
test: install-test browser-deps tests/js/node_modules/.installed
	$(BIN)/pytest

# From npm: Mozilla's ical.js (Thunderbird's parser) checks our ICS exports from Node; axe-core checks every page
# for WCAG 2.1 AA in Chromium; vnu-jar is the Nu Html Checker (its jar ships in the package: --ignore-scripts skips
# its install script, which would download a Java runtime; the validator runs with Debian's, see browser-deps).
tests/js/node_modules/.installed: tests/js/package.json tests/js/package-lock.json
	@if ! command -v npm >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
		else echo "The calendar tests need Node.js and npm: run 'sudo apt-get install nodejs npm' first." >&2; exit 1; fi; \
	fi
	npm ci --prefix tests/js --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

browser-deps:
	@if [ ! -x $(CHROMIUM) ] || ! command -v pdftoppm >/dev/null || ! command -v java >/dev/null \
		|| ! PATH="$$PATH:/usr/sbin" command -v nginx >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian's chromium, poppler-utils, a Java runtime and nginx for the browser, PDF, HTML validity and scale-out tests..."; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils default-jre-headless nginx >/dev/null; \
		else \
			echo "The browser, PDF, HTML validity and scale-out tests need $(CHROMIUM), pdftoppm, java and nginx: run 'sudo apt-get install chromium poppler-utils default-jre-headless nginx' first." >&2; exit 1; \
		fi; \
	fi

bench: install-test
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script; done

clean:
	rm -rf $(VENV) .pytest_cache

## make scale-out: deploy/ on loopback (two gunicorn instances behind nginx, two mail workers) over a scratch database
## next to DATABASE_URL (PostgreSQL only), with an app instance and a mail worker killed mid-rush (bench/scale_out.py)
.PHONY: scale-out
scale-out: install-test
	$(BIN)/python bench/scale_out.py
