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
