# One way to check everything: `make test` is what CI runs; `make demo` needs no credentials.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test typecheck install clean bench screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	rm -rf out demo-data tokenworth-demo.db
	$(BIN)/tokenworth demo --out out --data demo-data --db sqlite:///./tokenworth-demo.db

test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto
	$(BIN)/mypy
	$(BIN)/ruff check bot storage tests bench
	$(BIN)/lint-imports

# The demo's digests (Slack and Teams), `me`, `trend` and App Home as PNGs in out/screens/ (needs chromium).
screenshots: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || { echo "make screenshots needs Debian's headless chromium: apt-get install chromium" >&2; exit 1; }
	$(MAKE) demo
	$(BIN)/python -m bot.demo.screens --db sqlite:///./tokenworth-demo.db --config demo-data/tokenworth.yml --out out

typecheck: $(STAMP)
	$(BIN)/mypy

# Organisation-scale benchmark (about 15 minutes): writes bench/results.json; inputs go to bench/data/.
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) out demo-data tokenworth-demo.db .pytest_cache .mypy_cache
