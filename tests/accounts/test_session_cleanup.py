from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.tasks import clear_expired_sessions

pytestmark = pytest.mark.django_db


def session(*, expires_in: timedelta) -> str:
    store = SessionStore()
    store["cart"] = {"1": 2}
    store.create()
    Session.objects.filter(pk=store.session_key).update(expire_date=timezone.now() + expires_in)
    return store.session_key


def test_expired_sessions_are_cleared_and_live_ones_kept():
    expired = [session(expires_in=timedelta(days=-1)) for _ in range(2)]
    live = session(expires_in=timedelta(days=1))

    assert clear_expired_sessions() == 2

    assert list(Session.objects.values_list("pk", flat=True)) == [live]
    assert not Session.objects.filter(pk__in=expired).exists()


def test_clearing_twice_deletes_nothing_more():
    session(expires_in=timedelta(days=-1))
    live = session(expires_in=timedelta(days=1))
    clear_expired_sessions()

    assert clear_expired_sessions() == 0

    assert SessionStore(session_key=live).load() == {"cart": {"1": 2}}
