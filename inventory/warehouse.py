"""Client for the warehouse's stock API (the sandbox in dev and tests).

GET {WAREHOUSE_API_URL}/stock?page=N&page_size=M answers
{"count", "page", "next_page", "results": [{"sku", "on_hand"}, ...]}.
Every failure becomes one of two errors: TemporaryError (timeouts,
connection errors, 429, 5xx; the task retries) or PermanentError (another
4xx, or an answer that is not what the API promises).
"""

import logging

from django.conf import settings

from jobs import transport
from jobs.errors import PermanentError

logger = logging.getLogger(__name__)

PAGE_SIZE = 100
# A warehouse that keeps answering "next page" is broken; stop rather than loop.
MAX_PAGES = 1000


def fetch_on_hand(*, page_size: int = PAGE_SIZE) -> dict[str, int]:
    """{SKU: units on hand} across every page of the warehouse's stock list."""
    on_hand: dict[str, int] = {}
    page: int | None = 1
    while page is not None:
        if page > MAX_PAGES:
            raise PermanentError(f"warehouse listed more than {MAX_PAGES} pages; giving up")
        body = _get_page(page, page_size)
        for row in body["results"]:
            on_hand[row["sku"]] = row["on_hand"]
        page = body["next_page"]
    logger.info("warehouse listed %d SKUs", len(on_hand))
    return on_hand


def _get_page(page: int, page_size: int) -> dict:
    response = transport.request(
        "GET",
        f"{settings.WAREHOUSE_API_URL}/stock",
        service="warehouse",
        params={"page": page, "page_size": page_size},
        headers={"Authorization": f"Bearer {settings.WAREHOUSE_API_KEY}"},
        timeout=settings.WAREHOUSE_API_TIMEOUT,
    )
    if response.status_code != 200:
        raise PermanentError(f"warehouse answered {response.status_code}: {response.text[:200]}")
    try:
        body = response.json()
        _check_page(body, page)
    except (ValueError, KeyError, TypeError) as exc:
        raise PermanentError(f"warehouse page {page} is malformed: {exc!r}") from exc
    return body


def _check_page(body: dict, page: int) -> None:
    """Raise ValueError unless `body` is a stock page as documented."""
    for row in body["results"]:
        if not isinstance(row["sku"], str) or not row["sku"]:
            raise ValueError(f"bad SKU {row['sku']!r}")
        on_hand = row["on_hand"]
        if isinstance(on_hand, bool) or not isinstance(on_hand, int) or on_hand < 0:
            raise ValueError(f"bad on_hand {row['on_hand']!r} for {row['sku']}")
    next_page = body["next_page"]
    if next_page is not None and (not isinstance(next_page, int) or next_page <= page):
        raise ValueError(f"next_page {next_page!r} does not follow page {page}")
