# 乡才通 Xiangcai — `make run` serves the demo, `make test` runs lint and the whole suite.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install browser run serve test test-fast screenshots lint format bench eval fuzz postgres clean

install: $(STAMP) browser

# Pinned versions live in constraints.txt (regenerate with `pip freeze` after a deliberate
# upgrade); torch is pinned to the CPU build 2.13.0 that sentence-transformers needs.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

# Debian's Chromium for the browser tests (Playwright cannot download browsers here), and a
# Chinese font so that the screenshots in docs/screenshots/ show text rather than boxes.
browser:
	@command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q . || { \
	  $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium fonts-noto-cjk; }

run: install
	$(PY) -m app init
	$(PY) -m app seed-demo
	$(PY) -m app serve --host $(HOST) --port $(PORT)

# XIANGCAI_WORKERS processes (default: one per core), each with its own model and index.
serve: $(STAMP)
	$(PY) -m app serve --host $(HOST) --port $(PORT)

postgres:
	@./.ci/ensure-postgres

lint: $(STAMP)
	$(VENV)/bin/ruff check app matching tests bench seed migrations
	$(VENV)/bin/ruff format --check app matching tests bench seed migrations
	$(VENV)/bin/mypy app matching

# One pytest worker per core (pytest-xdist); a test file stays on one worker, so its fixtures
# (databases, the model, the browser sites) are built once per worker.
test: install postgres lint
	$(PY) -m pytest -n auto --dist loadfile

# Everything but the slow suites, for quick iterations.
test-fast: $(STAMP) postgres
	$(PY) -m pytest -n auto --dist loadfile -m "not slow"

# Refresh the pictures in docs/screenshots/ (an ordinary test run writes them to a temporary
# folder instead): the browser tests (pictures from the SQLite run).
screenshots: install postgres
	XIANGCAI_SCREENSHOTS=1 $(PY) -m pytest -m browser tests/app/web

# Hostile input against the served demo (bench/fuzz_api.py): schemathesis, in a venv of its own
# because its pins are not the service's; fails on any 500 or unhandled error.
fuzz: $(STAMP) postgres
	@test -x .venv-fuzz/bin/st || { $(PYTHON) -m venv .venv-fuzz && \
	  .venv-fuzz/bin/pip install --quiet --disable-pip-version-check "schemathesis==4.32.5"; }
	$(PY) bench/fuzz_api.py --db sqlite
	$(PY) bench/fuzz_api.py --db postgresql

format: $(STAMP)
	$(VENV)/bin/ruff check --fix app matching tests bench seed migrations
	$(VENV)/bin/ruff format app matching tests bench seed migrations

eval: $(STAMP)
	$(PY) bench/eval_matching.py

bench: $(STAMP) postgres
	$(PY) bench/bench_matching.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
