# Pingan Grid. `make demo` and `make test` install what they need first (scripts/setup.sh).
.PHONY: setup demo serve test unit integration e2e lint bench format clean-demo

UV ?= uv
PYTEST_ARGS ?=

setup:
	@bash scripts/setup.sh

demo: setup
	$(UV) run pingan demo
	$(UV) run pingan serve

test: setup lint
	$(UV) run pytest $(PYTEST_ARGS)

unit: setup
	$(UV) run pytest tests/unit $(PYTEST_ARGS)

integration: setup
	$(UV) run pytest tests/integration $(PYTEST_ARGS)

e2e: setup
	$(UV) run pytest tests/e2e $(PYTEST_ARGS)

serve: setup
	$(UV) run pingan serve

lint: setup
	$(UV) run ruff check gis analysis layers dashboard pingan tests
	$(UV) run ruff format --check gis analysis layers dashboard pingan tests
	$(UV) run mypy
	$(UV) run lint-imports

format: setup
	$(UV) run ruff format gis analysis layers dashboard pingan tests
	$(UV) run ruff check --fix gis analysis layers dashboard pingan tests

bench: setup
	$(UV) run python -m tests.benchmarks.run
