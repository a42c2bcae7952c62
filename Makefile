# Lianjie: the README's commands call these targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi.py

.PHONY: run serve setup install translations db seed test lint bench bench-load bench-pages clean

run: setup
	$(BIN)/flask run --host 127.0.0.1 --port $${PORT:-5000}

# Production serving: gunicorn with WEB_CONCURRENCY workers (default 4) on BIND (default 127.0.0.1:8000).
serve: install translations db
	$(BIN)/flask search-sync
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

setup: install translations db seed

install: $(BIN)/.installed

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

translations: install
	$(BIN)/pybabel compile --use-fuzzy -d directory/translations -f --statistics 2>&1 | tail -n 2

db: install
	$(BIN)/flask db upgrade

seed: db
	$(BIN)/flask seed

# Tests run in TEST_WORKERS processes (default 2, one per core here); TEST_WORKERS=0 runs them in one.
test: install translations
	$(BIN)/python -m pytest -q -n $${TEST_WORKERS:-2} $(PYTEST_ARGS)

bench: install translations
	$(BIN)/python -m bench.search_bench

bench-load: install translations
	$(BIN)/python -m bench.load_bench

bench-reports: install translations ; $(BIN)/python -m bench.reports_bench

# Main pages at 245 and BENCH_SERVICES (default 100,000) services; BENCH_BASE=DIR also runs the code tree in DIR.
bench-pages: install translations
	$(BIN)/python -m bench.pages_bench

lint: install
	$(BIN)/ruff check .

extract: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o directory/translations/messages.pot .
	$(BIN)/pybabel update -i directory/translations/messages.pot -d directory/translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) .pytest_cache
