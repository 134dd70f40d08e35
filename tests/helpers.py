import re
import time
from collections.abc import Callable


def wait_for(condition: Callable[[], object], *, timeout: float = 30, what: str, diagnostics=None):
    """Poll `condition` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            extra = f"\n{diagnostics()}" if diagnostics else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{extra}")
        time.sleep(0.1)


CHECKOUT = {
    "full_name": "Ada Lovelace",
    "email": "ada@example.com",
    "shipping_address": "12 Analytical Row\nLondon",
    "card_number": "4242 4242 4242 4242",
}


def documented_defaults() -> dict[str, str]:
    """NAME=value lines of .env.example: what a deployment runs with unless told otherwise.

    The test run overrides some settings (fast retries); checks of timing
    invariants use these instead.
    """
    from pathlib import Path

    lines = (Path(__file__).resolve().parent.parent / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if re.match(r"^[A-Z][A-Z0-9_]*=", line))
