import smtplib
from datetime import timedelta
from email.utils import format_datetime

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from django.core.mail import BadHeaderError
from django.utils import timezone

from jobs.errors import PermanentError, TemporaryError
from jobs.transport import parse_retry_after, transport_errors


def test_retry_after_is_read_as_seconds_or_an_http_date():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = format_datetime(timezone.now() + timedelta(seconds=120), usegmt=True)
    assert 100 < parse_retry_after(later) <= 120


# --- One mapping for SMTP and S3 (the HTTP side is covered over real HTTP in tests/sandbox) ---


def s3_error(status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": str(status)}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PutObject",
    )


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (smtplib.SMTPServerDisconnected("gone"), TemporaryError),
        (smtplib.SMTPResponseException(451, b"try later"), TemporaryError),
        (smtplib.SMTPResponseException(554, b"rejected"), PermanentError),
        (smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no such user")}), PermanentError),
        (ConnectionRefusedError(111, "refused"), TemporaryError),
        (BadHeaderError("newline in subject"), PermanentError),
        (s3_error(503), TemporaryError),
        (s3_error(429), TemporaryError),
        (s3_error(403), PermanentError),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), TemporaryError),
    ],
    ids=lambda value: type(value).__name__,
)
def test_smtp_and_s3_failures_map_to_the_retry_decision(failure, expected):
    with pytest.raises(expected) as raised, transport_errors("test service"):
        raise failure
    assert raised.value.__cause__ is failure
    assert "test service" in str(raised.value)


def test_what_is_not_a_transport_failure_passes_through_unchanged():
    with pytest.raises(KeyError), transport_errors("test service"):
        raise KeyError("a bug, not the network")
