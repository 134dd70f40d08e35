"""Browser tests: Playwright for Python driving Debian's Chromium against the live server."""

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the tests also
# use the ORM from it, which Django otherwise refuses near a running loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
# axe-core from npm (package.json; scripts/test runs `npm ci`).
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# Impacts that fail a test; "minor" and "moderate" findings are reported, not fatal.
AXE_FAILING_IMPACTS = {"serious", "critical"}


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Chromium (Debian package `chromium`, or set CHROMIUM_PATH)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",  # CI runs as root
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",  # no calls home on a closed network
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def gateway_server():
    """A second live server: the sandbox gateway on an origin of its own.

    127.0.0.1 and another port, where the shop is localhost: the checkout
    page's script calls it cross-origin, through CORS and the CSP, as it
    would call a real gateway (in `make dev` it is port 8010).
    """
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer("127.0.0.1:0")
    yield server
    server.stop()


@pytest.fixture
def cross_origin_gateway(gateway, gateway_server, live_server, settings) -> str:
    """Point the shop's pages (and its server) at the gateway's own origin; return its URL."""
    from copy import deepcopy

    from project.settings import origin_of

    url = f"{gateway_server.url}/sandbox/gateway"
    settings.PAYMENT_GATEWAY_URL = settings.PAYMENT_GATEWAY_PUBLIC_URL = url
    settings.SANDBOX_GATEWAY_ALLOWED_ORIGINS = [live_server.url]
    policy = deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["connect-src"] = ["'self'", origin_of(url)]
    settings.CONTENT_SECURITY_POLICY = policy
    assert origin_of(url) != origin_of(live_server.url)
    return url


# Chromium reports every Content-Security-Policy violation as an event in the page.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""


@pytest.fixture
def page(browser, live_server, cross_origin_gateway):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    context.set_default_timeout(20_000)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.csp_console_errors = []
    page.on(
        "console",
        lambda message: (
            page.csp_console_errors.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    yield page
    context.close()


def csp_violations(page) -> list[str]:
    """The CSP violations this page reported (events and console messages) since it loaded."""
    return [*page.evaluate("() => window.__cspViolations || []"), *page.csp_console_errors]


@pytest.fixture
def axe():
    """Run axe-core in the page and fail on any serious or critical violation.

    Call it as `axe(page, "catalog")` once the page shows what it should.
    """
    if not AXE_SCRIPT.exists():
        pytest.skip("needs axe-core from npm: run `npm ci` (scripts/test does)")

    def check(page, what: str) -> list[dict]:
        if not page.evaluate("() => typeof window.axe === 'object'"):
            # Evaluated through DevTools, which the page's Content-Security-Policy
            # does not govern (a <script> tag with the code inline would be refused).
            page.evaluate(AXE_SCRIPT.read_text() + "\n;undefined")
        result = page.evaluate(
            """() => axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                 "best-practice"]},
            })"""
        )
        failing = [v for v in result["violations"] if v["impact"] in AXE_FAILING_IMPACTS]
        report = "\n".join(
            f"- {v['id']} ({v['impact']}): {v['help']} -> "
            + ", ".join(str(node["target"]) for node in v["nodes"][:5])
            for v in failing
        )
        assert not failing, f"axe-core on the {what} page:\n{report}"
        return result["violations"]

    return check


@pytest.fixture
def screenshot(tmp_path):
    """screenshot(page, name): a PNG into ORDERLY_SCREENSHOTS_DIR (`make screenshots`), else tmp."""
    folder = Path(os.environ.get("ORDERLY_SCREENSHOTS_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, *, full_page=True):
        page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)

    return take
