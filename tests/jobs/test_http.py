from datetime import timedelta
from email.utils import format_datetime

from django.utils import timezone

from jobs.http import parse_retry_after


def test_retry_after_is_read_as_seconds_or_an_http_date():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = format_datetime(timezone.now() + timedelta(seconds=120), usegmt=True)
    assert 100 < parse_retry_after(later) <= 120
