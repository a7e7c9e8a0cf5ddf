# Two commands: `make demo` runs the product, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/5
TEST_BROKER_URL ?= redis://127.0.0.1:6379/6
# Without DEBUG the settings refuse to start with no key (or the public development key):
# tests and the benchmark get a random one per run, shared by every process they start.
ifndef SECRET_KEY
SECRET_KEY := $(shell $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')
endif
export SECRET_KEY

.PHONY: demo test lint install install-dev bench clean

$(BIN)/.app: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(BIN)/.dev: $(BIN)/.app requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: $(BIN)/.app
install-dev: $(BIN)/.dev

demo: $(BIN)/.app
	$(BIN)/python -m elsa.demo

# Style and import order, the house's import rules (.importlinter: layers, no cycles),
# and a type check of the services and the transport.
lint: $(BIN)/.dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy quizzes/services quizzes/rules.py quizzes/selectors.py quizzes/partials.py quizzes/live.py \
		live leaderboard monitoring

# The test process itself talks to the database from many short-lived threads and event
# loops; it uses plain connections (DB_POOL_SIZE=0). The servers the tests start use the
# pool, as in production.
test: $(BIN)/.dev lint
	./.ci/services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) DB_POOL_SIZE=0 \
		MEDIA_ROOT=$(CURDIR)/artifacts/media \
		$(BIN)/pytest --create-db $(PYTEST_ARGS)

# The benchmark's own database is named after the test database, so checkouts that test
# apart also benchmark apart (each run starts a private Redis of its own).
BENCH_DATABASE_URL ?= $(TEST_DATABASE_URL)_bench

bench: $(BIN)/.dev
	./.ci/services
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python -m benchmarks.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .demo db.sqlite3 db.sqlite3-* staticfiles
