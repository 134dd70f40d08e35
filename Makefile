.PHONY: dev test lint bench
dev:  ## install everything and run the whole system
	./scripts/dev
test:  ## install everything and run lint and the whole test suite
	./scripts/test
lint:
	uv run ruff check . && uv run ruff format --check .
bench:  ## start a stack on PostgreSQL + Redis and measure (see bench/run.py; not run by CI)
	uv sync --frozen --group bench --quiet
	uv run --frozen --group bench python bench/run.py $(ARGS)
