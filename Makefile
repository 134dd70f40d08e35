.PHONY: dev test lint bench screenshots screenshot-prometheus
dev:  ## install everything and run the whole system
	./scripts/dev
test:  ## install everything and run lint and the whole test suite
	./scripts/test
screenshots:  ## refresh the README's pictures (docs/screenshots/): demo shop and operator's console
	./scripts/screenshots
lint:
	uv run ruff check . && uv run ruff format --check . && uv run lint-imports --no-cache
bench:  ## start a stack on PostgreSQL + Redis and measure (see bench/run.py; not run by CI)
	uv sync --frozen --group bench --quiet
	uv run --frozen --group bench python bench/run.py --growth $(ARGS)
screenshot-prometheus:  ## Prometheus's graph page of a running stack -> docs/screenshots/ (see the script)
	./scripts/screenshot-prometheus
