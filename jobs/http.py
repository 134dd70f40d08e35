"""Outbound HTTP for tasks: one mapping of transport failures onto the retry policy.

Timeouts, connection errors, 429 and 5xx may pass, so they become
TemporaryError (with the server's Retry-After as a lower bound). Every other
answer is returned for the caller to judge, since what a 402 or a 404
means depends on the API.
"""

import email.utils

import requests
from django.utils import timezone

from .errors import TemporaryError


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - timezone.now()).total_seconds(), 0.0)


def request(method: str, url: str, *, service: str, timeout, **kwargs) -> requests.Response:
    """`requests.request` without redirects; raises TemporaryError for failures that may pass.

    `service` names the remote side in error messages ("payment gateway").
    `timeout` is required: a task must never wait on a remote side forever.
    """
    try:
        response = requests.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
    except requests.Timeout as exc:
        raise TemporaryError(f"{service} timed out: {exc}") from exc
    except requests.ConnectionError as exc:
        raise TemporaryError(f"{service} unreachable: {exc}") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise TemporaryError(
            f"{service} answered {response.status_code}",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    return response
