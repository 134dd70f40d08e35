.PHONY: dev test test-fast lint bench screenshots screenshot-prometheus docs
dev:  ## install everything and run the whole system
	./scripts/dev
test:  ## install everything and run lint and the whole test suite
	./scripts/test
test-fast:  ## lint and the tests that start no worker, chaos or browser: the edit-run loop
	./scripts/test -m "not worker and not chaos and not browser"
screenshots:  ## refresh the README's pictures (docs/screenshots/): demo shop and operator's console
	./scripts/screenshots
lint:
	uv run ruff check . && uv run ruff format --check . && uv run lint-imports --no-cache
bench:  ## start a stack on PostgreSQL + Redis and measure (see bench/run.py; not run by CI)
	uv sync --frozen --group bench --quiet
	uv run --frozen --group bench python bench/run.py --growth $(ARGS)
screenshot-prometheus:  ## Prometheus's graph page of a running stack -> docs/screenshots/ (see the script)
	./scripts/screenshot-prometheus
docs:  ## serve the docs site at http://127.0.0.1:8001/docs/ (MkDocs; rebuilds on save)
	NO_MKDOCS_2_WARNING=1 uv run --frozen mkdocs serve --dev-addr 127.0.0.1:8001
