# Sourced by scripts/dev and scripts/test: install what Orderly needs from a
# fresh clone, and make sure Redis answers. Every step is safe to repeat.

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

ensure_uv() {
  if command -v uv >/dev/null 2>&1; then
    UV=(uv)
  else
    say "Installing uv (Python package manager) with pip"
    python3 -m pip install --quiet uv
    UV=(python3 -m uv)
  fi
  say "Installing Python packages (uv sync, locked by uv.lock)"
  "${UV[@]}" sync --frozen --quiet
}

redis_answers() {
  "${UV[@]}" run --frozen python - "$1" <<'PY' >/dev/null 2>&1
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()
PY
}

ensure_redis() {
  local url="${REDIS_URL:-redis://localhost:6379/0}"
  if redis_answers "$url"; then
    return
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "Redis is not reachable at $url and redis-server is not installed." >&2
    echo "Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis)," >&2
    echo "or point REDIS_URL at a running Redis, then run this again." >&2
    exit 1
  fi
  say "Starting a local redis-server on 127.0.0.1:6379"
  mkdir -p var/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --dir "$PWD/var/redis" \
    --save "" --appendonly no --logfile "$PWD/var/redis/redis.log"
  for _ in $(seq 50); do
    redis_answers "$url" && return
    sleep 0.1
  done
  echo "redis-server started but does not answer at $url; see var/redis/redis.log" >&2
  exit 1
}

ensure_chromium() {
  # Browser tests drive Debian's Chromium through Playwright (no browser download).
  if command -v chromium >/dev/null 2>&1 || [ -n "${CHROMIUM_PATH:-}" ]; then
    return
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "Installing Chromium for the browser tests (apt-get install chromium)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "Chromium is not installed: the browser tests in tests/e2e will be skipped." >&2
    echo "Install it (Debian/Ubuntu: sudo apt-get install chromium) or set CHROMIUM_PATH." >&2
  fi
}
