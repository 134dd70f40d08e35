"""Failed logins lock a username/IP pair out (django-axes), even with the right password."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse


@pytest.fixture
def operator(db):
    return get_user_model().objects.create_user(
        username="operator",
        email="operator@example.com",
        password="correct-horse-battery",
        is_staff=True,
        is_superuser=True,
    )


def admin_login(client, password):
    return client.post(
        reverse("admin:login"),
        {"username": "operator", "password": password, "next": "/admin/"},
    )


def test_attempt_after_the_failure_limit_is_refused_even_with_the_right_password(client, operator):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = admin_login(client, "wrong")
        assert response.status_code == 200  # the login form again, with an error
    # The Nth failure locks the pair out and says so.
    assert admin_login(client, "wrong").status_code == 429
    response = admin_login(client, "correct-horse-battery")
    assert response.status_code == 429
    assert b"locked" in response.content.lower()
    assert "_auth_user_id" not in client.session


def test_fewer_failures_than_the_limit_still_allow_login(client, operator):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        admin_login(client, "wrong")
    response = admin_login(client, "correct-horse-battery")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_a_lock_out_does_not_lock_other_users(client, operator):
    get_user_model().objects.create_user(
        username="other@example.com", email="other@example.com", password="other-password-123"
    )
    for _ in range(settings.AXES_FAILURE_LIMIT):
        admin_login(client, "wrong")
    response = client.post(
        reverse("accounts:login"),
        {"username": "other@example.com", "password": "other-password-123"},
    )
    assert response.status_code == 302
