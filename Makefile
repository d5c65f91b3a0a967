# Two commands on a fresh machine (Python 3.11, pip, node/npm):
#   make demo   install everything, run the whole pipeline on the bundled data, build dashboards
#   make test   install everything (with Debian's chromium for the browser tests), lint, test
# uv is bootstrapped into .tools/ with pip, then installs the locked stack (uv.lock).

UV_VERSION := 0.13.9
PYTHON ?= python3
UV := .tools/bin/uv
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install browser-deps demo run dashboards test test-fast lint ui clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --quiet: the ~190 "+ package==version" lines of a first install would drown the run's output
install: $(UV)
	@$(UV) sync --frozen --quiet && echo "Python environment ready (.venv, locked by uv.lock)"

# The browser tests drive Debian's chromium with Playwright (its own browser download does
# not work offline); the dashboards' npm packages are installed by `civic dashboards build`.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

run: install
	$(UV) run civic run

dashboards: install
	$(UV) run civic dashboards build

demo: run dashboards
	@echo "Open the dashboards with: $(UV) run civic dashboards serve"

# sqlfluff's dbt templater parses and compiles the project (its generated sources first)
# against a scratch DuckDB file and target path, so lint needs no warehouse and leaves none.
lint: install
	$(UV) run ruff check pipelines tests
	$(UV) run ruff format --check pipelines tests
	$(UV) run dg check defs
	$(UV) run python -m pipelines.dbt_sources >/dev/null
	@scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && \
		CIVIC_WAREHOUSE=$$scratch/lint.duckdb DBT_TARGET_PATH=$$scratch/target \
		DBT_LOG_PATH=$$scratch/logs $(UV) run sqlfluff lint dbt_project/models

test: lint browser-deps
	$(UV) run pytest

# The quick loop: everything but the tests that need a pipeline run or a browser.
test-fast: install
	$(UV) run pytest -m "not slow and not browser"

ui: install
	$(UV) run civic ui

clean:
	rm -rf warehouse dbt_project/target dbt_project/logs dashboards/build
