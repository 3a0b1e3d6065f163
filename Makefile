# The two commands of the README:
#   make run    set up (first time) and run the main job: seeds/ -> output/ (no server to set up:
#               a local Prefect server starts in the background and stops itself when idle)
#   make test   set up (first time, incl. bibtex/biber/pandoc) and run lint + the test suite
# Everything is installed from this repository's own files (pyproject.toml, constraints.txt,
# scripts/install-tools.sh), so a fresh clone needs nothing else.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: run test lint pytest tools bench bench-startup clean

# The pinned packages go in with uv, itself one wheel installed by pip: it resolves, fetches and
# unpacks the ~100 wheels in a fraction of pip's time (README, "Quick start"). Where uv cannot
# be had, pip installs the same pins.
define install
	$(PIP) install --quiet 'uv>=0.4,<1' && $(BIN)/uv pip install --quiet --python $(BIN)/python \
	    --compile-bytecode -c constraints.txt -e '$(1)' \
	  || $(PIP) install --quiet -c constraints.txt -e '$(1)'
endef

$(VENV)/.run-installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(call install,.)
	touch $@

# (In a variable: `call` would split `.[test,lint]` at its comma.)
TEST_EXTRAS := .[test,lint]

$(VENV)/.test-installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(call install,$(TEST_EXTRAS))
	touch $@ $(VENV)/.run-installed

# Our own modules compiled ahead (the installer compiles the rest; this is quick when nothing
# changed): a run imports ~50 of them, and a machine that does not write bytecode
# (PYTHONDONTWRITEBYTECODE) would compile them in every run (~0.2 s).
COMPILE := $(BIN)/python -m compileall -q enrich flows

run: $(VENV)/.run-installed
	$(COMPILE)
	$(BIN)/digest-enrich run seeds --output output

tools:
	./scripts/install-tools.sh

lint: $(VENV)/.test-installed
	$(BIN)/ruff check enrich flows tests bench
	$(BIN)/mypy

pytest: $(VENV)/.test-installed tools
	$(COMPILE)
	DIGEST_ENRICH_REQUIRE_TOOLS=1 $(BIN)/python -m pytest

test: lint pytest

bench: $(VENV)/.test-installed
	$(BIN)/python -m bench

bench-startup: $(VENV)/.test-installed
	$(BIN)/python -m bench.startup

clean:
	rm -rf $(VENV) output/digests output/*.bib output/*.json output/*.jsonl output/.state
