"""Customer accounts."""

from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from jobs.services.outbox import publish_on_commit
from orders.models import Order

from . import steps


def register_customer(*, email: str, password: str, full_name: str, guest_order_ids=()):
    """Create a customer account and welcome them by e-mail after commit.

    Guest orders placed with the same e-mail from this browser session
    (`guest_order_ids`, public ids) join the new account. Orders placed from
    other sessions are not claimed: without a verified address, anyone could
    sign up with someone else's e-mail and read their orders.
    """
    first_name, _, last_name = full_name.strip().partition(" ")
    with transaction.atomic():
        user = get_user_model().objects.create_user(
            username=email.lower(),
            email=email.lower(),
            password=password,
            first_name=first_name[:150],
            last_name=last_name[:150],
        )
        Order.objects.filter(
            customer=None, email__iexact=email, public_id__in=list(guest_order_ids)
        ).update(customer=user)
        publish_on_commit(steps.welcome_email(user.pk), reference=f"user:{user.pk}")
    return user


def clear_expired_sessions() -> int:
    """Delete sessions past their expiry date; returns how many were deleted.

    What `manage.py clearsessions` does, for whichever session engine is
    configured. Idempotent: a second run finds nothing to delete.
    """
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if hasattr(store, "get_model_class"):  # database-backed: delete and count
        expired = store.get_model_class().objects.filter(expire_date__lt=timezone.now())
        deleted, _ = expired.delete()
        return deleted
    store.clear_expired()  # cache-backed sessions expire by themselves
    return 0
