"""One mapping of transport failures onto the retry policy: HTTP, SMTP and S3 alike.

What may pass becomes TemporaryError: timeouts, connection errors, HTTP 429
and 5xx (with the server's Retry-After as a lower bound), SMTP 4xx replies
and dropped connections, S3 5xx/429 and endpoint errors. What will not pass
becomes PermanentError: SMTP 5xx replies and bad headers, S3 4xx. Every
other HTTP answer is returned for the caller to judge, since what a 402 or
a 404 means depends on the API.

A task declares which transports it uses: HTTP clients call `request()`;
SMTP and S3 work runs inside `with transport_errors("mail server"):`.
Anything else (a bug, bad data) passes through untouched and fails the task
once.
"""

import email.utils
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from botocore.exceptions import BotoCoreError, ClientError
from django.core.mail import BadHeaderError
from django.utils import timezone

from .errors import PermanentError, TemporaryError


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


def _smtp_code(exc: smtplib.SMTPException) -> int | None:
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        return max(code for code, _ in exc.recipients.values())
    return None


def classify(exc: BaseException, *, service: str) -> TemporaryError | PermanentError | None:
    """The retry decision for a transport failure, or None when `exc` is not one."""
    if isinstance(exc, TemporaryError | PermanentError):
        return exc
    if isinstance(exc, BadHeaderError):
        return PermanentError(f"{service}: {exc}")
    if isinstance(exc, smtplib.SMTPException):
        code = _smtp_code(exc)
        kind = PermanentError if code is not None and code >= 500 else TemporaryError
        return kind(f"{service}: {exc!r}")
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
        kind = TemporaryError if status >= 500 or status == 429 else PermanentError
        return kind(f"{service}: {exc!r}")
    if isinstance(exc, BotoCoreError | OSError):  # endpoint, socket and timeout errors
        return TemporaryError(f"{service}: {exc!r}")
    return None


@contextmanager
def transport_errors(service: str) -> Iterator[None]:
    """Raise TemporaryError or PermanentError for SMTP and S3 failures inside the block.

    `service` names the remote side in the error ("mail server", "invoice
    storage"). Exceptions that are not transport failures pass unchanged.
    """
    try:
        yield
    except Exception as exc:
        decision = classify(exc, service=service)
        if decision is None or decision is exc:
            raise
        raise decision from exc
