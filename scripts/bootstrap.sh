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

ensure_dev_env_file() {
  # Development settings for a fresh clone. Production never reads this:
  # without DJANGO_DEBUG=true, settings refuse to start until
  # DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS and DATABASE_URL are set.
  if [ ! -f .env ]; then
    cp .env.example .env
    say "Wrote .env from .env.example (development settings; edit it to change one)"
  fi
}

load_env_file() {
  # Export .env's variables, parsed as settings.py parses them; a variable
  # already set in the shell wins, as it does in settings.py.
  eval "$("${UV[@]}" run --frozen python - <<'PY'
import os, shlex, environ
before = set(os.environ)
environ.Env.read_env(".env")
for name in sorted(set(os.environ) - before):
    print(f"export {name}={shlex.quote(os.environ[name])}")
PY
)"
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

apt_install_for_tests() {
  # apt_install_for_tests PACKAGE WHAT-SKIPS-WITHOUT-IT: install a Debian package a test
  # needs when we can (root with apt-get, as in CI); otherwise say what will be skipped.
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "Installing $1 for $2 (apt-get install $1)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
  else
    echo "$1 is not installed: $2 will be skipped." >&2
    echo "Install it (Debian/Ubuntu: sudo apt-get install $1), then run this again." >&2
    return 1
  fi
}

ensure_chromium() {
  # Browser tests drive Debian's Chromium through Playwright (no browser download).
  if command -v chromium >/dev/null 2>&1 || [ -n "${CHROMIUM_PATH:-}" ]; then
    return
  fi
  apt_install_for_tests chromium "the browser tests in tests/e2e (or set CHROMIUM_PATH)" || true
}

ensure_browser_test_packages() {
  # axe-core (accessibility checks in tests/e2e) comes from npm, pinned by package-lock.json.
  if ! command -v npm >/dev/null 2>&1; then
    apt_install_for_tests npm "the accessibility checks in tests/e2e" || return 0
  fi
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "Installing axe-core for the browser tests (npm ci, locked by package-lock.json)"
    npm ci --no-audit --no-fund --silent
  fi
}

ensure_invoice_font() {
  # Invoices embed every font they draw (reports/pdf_text.py), all Debian packages
  # with TrueType outlines, which is what reportlab embeds:
  #   fonts-dejavu-core     DejaVu Sans: Latin, Greek, Cyrillic, Hebrew, Arabic
  #   fonts-wqy-zenhei      WenQuanYi Zen Hei: Chinese, Korean (GPL, embedding allowed)
  #   fonts-ipafont-gothic  IPAGothic: Japanese (IPA Font Licence)
  # Noto Sans CJK (fonts-noto-cjk) has PostScript outlines, which reportlab cannot embed.
  local dir="${ORDERLY_INVOICE_FONT_DIR:-/usr/share/fonts/truetype/dejavu}"
  local cjk="${ORDERLY_INVOICE_CJK_FONT:-/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc}"
  local japanese="${ORDERLY_INVOICE_JAPANESE_FONT:-/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf}"
  local packages=()
  [ -f "$dir/DejaVuSans.ttf" ] && [ -f "$dir/DejaVuSans-Bold.ttf" ] || packages+=(fonts-dejavu-core)
  [ -f "$cjk" ] || packages+=(fonts-wqy-zenhei)
  [ -f "$japanese" ] || packages+=(fonts-ipafont-gothic)
  if [ "${#packages[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      say "Installing the invoice fonts (apt-get install ${packages[*]})"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${packages[@]}" >/dev/null
    else
      echo "Invoice fonts missing (${packages[*]}): invoices replace what they cannot draw," >&2
      echo "and the invoice font tests will be skipped. Install them (Debian/Ubuntu:" >&2
      echo "sudo apt-get install ${packages[*]}) or point ORDERLY_INVOICE_FONT_DIR," >&2
      echo "ORDERLY_INVOICE_CJK_FONT and ORDERLY_INVOICE_JAPANESE_FONT at TrueType files." >&2
    fi
  fi
  ensure_pdf_tools
}

ensure_pdf_tools() {
  # The invoice tests read PDFs back as a reader would: pdffonts (every font embedded),
  # pdftoppm (the page renders), pdftotext (the text comes back). Called from
  # ensure_invoice_font because scripts/test runs that one.
  if command -v pdffonts >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1; then
    return
  fi
  apt_install_for_tests poppler-utils "the invoice rendering tests in tests/reports" || true
}

ensure_prometheus() {
  # promtool checks and unit-tests the alert rules; the scrape test runs a real
  # Prometheus. Both come with Debian's prometheus package (not started as a service).
  if command -v promtool >/dev/null 2>&1 || [ -n "${PROMETHEUS_PATH:-}" ]; then
    return
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "Installing Prometheus and promtool (apt-get install prometheus)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends prometheus >/dev/null
  else
    echo "Prometheus is not installed: the rule tests and the scrape test will not run." >&2
    echo "Install it (Debian/Ubuntu: sudo apt-get install prometheus) or set PROMETHEUS_PATH." >&2
  fi
}

check_alert_rules() {
  if ! command -v promtool >/dev/null 2>&1; then
    echo "promtool missing: alert rules not checked" >&2
    return
  fi
  say "Alert rules (promtool check rules, promtool test rules)"
  promtool check rules ops/prometheus/rules.yml
  promtool test rules ops/prometheus/rules.test.yml
}
