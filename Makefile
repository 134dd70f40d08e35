.PHONY: dev test lint
dev:  ## install everything and run the whole system
	./scripts/dev
test:  ## install everything and run lint and the whole test suite
	./scripts/test
lint:
	uv run ruff check . && uv run ruff format --check .
