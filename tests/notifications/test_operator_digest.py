"""The operator digest: which days it covers, what it says, and that each person gets it once."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from jobs.models import DeadLetter
from notifications import selectors
from notifications.models import EmailLog, WebhookEndpoint
from notifications.services import emails
from notifications.tasks import send_operator_digest
from orders.models import Order, Payment
from tests.factories import ProductFactory, create_order

pytestmark = pytest.mark.django_db

WEDNESDAY = date(2025, 3, 12)
MONDAY = date(2025, 3, 10)


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.get_default_timezone())


@pytest.fixture
def staff():
    User = get_user_model()
    User.objects.create_user(username="no-mail", email="", is_staff=True)
    User.objects.create_user(username="customer", email="cust@example.com")
    User.objects.create_user(username="gone", email="gone@example.com", is_staff=True,
                             is_active=False)  # fmt: skip
    return [
        User.objects.create_user(username="grace", email="grace@example.com", is_staff=True),
        User.objects.create_user(username="linus", email="linus@example.com", is_staff=True),
    ]


@pytest.mark.parametrize(
    ("today", "period"),
    [
        (date(2025, 3, 11), (date(2025, 3, 10), date(2025, 3, 10))),  # Tuesday: Monday
        (date(2025, 3, 14), (date(2025, 3, 13), date(2025, 3, 13))),  # Friday: Thursday
        (MONDAY, (date(2025, 3, 7), date(2025, 3, 9))),  # Monday: Friday to Sunday
    ],
)
def test_digest_covers_yesterday_and_on_monday_the_days_since_friday(today, period):
    assert selectors.digest_period(today) == period


@pytest.fixture
def tuesdays_events():
    tuesday = WEDNESDAY - timedelta(days=1)
    beans = ProductFactory(price=Decimal("10.00"))
    create_order({beans: 2}, created_at=at(tuesday, 9))
    create_order({beans: 1}, created_at=at(tuesday, 15))
    create_order({beans: 1}, status=Order.Status.PENDING_PAYMENT, created_at=at(tuesday, 16))
    declined = create_order({beans: 4}, status=Order.Status.CANCELLED, created_at=at(tuesday, 10))
    Payment.objects.filter(order=declined).update(
        failure_message="Your card was declined.", settled_at=at(tuesday, 10)
    )
    create_order({beans: 7}, created_at=at(WEDNESDAY, 1))  # today: the next digest's
    for number, status in enumerate([DeadLetter.Status.OPEN, DeadLetter.Status.RESOLVED]):
        DeadLetter.objects.create(
            task_name="inventory.sync_warehouse_stock",
            task_id=f"dead-{number}",
            sealed_arguments="",
            exception_class="jobs.errors.TemporaryError",
            exception_message="warehouse answered 503",
            first_failed_at=at(tuesday, 3),
            last_failed_at=at(tuesday, 3),
            status=status,
        )
    return declined


def test_digest_tells_staff_the_days_orders_failed_payments_and_open_dead_letters(
    staff, tuesdays_events
):
    result = emails.send_operator_digest(today=WEDNESDAY)

    assert result == {"from": "2025-03-11", "to": "2025-03-11", "sent": 2}
    assert sorted(message.to[0] for message in mail.outbox) == [
        "grace@example.com",
        "linus@example.com",
    ]
    message = mail.outbox[0]
    assert "1 failed payment" in message.subject and "1 open dead letter" in message.subject
    body = message.body
    assert "Placed: 4   Paid: 2 (30.00 EUR)   Cancelled: 1   Still awaiting payment: 1" in body
    assert f"{tuesdays_events.number}  40.00 EUR  Declined: Your card was declined." in body
    open_letter = DeadLetter.objects.get(status=DeadLetter.Status.OPEN)
    assert f"#{open_letter.pk} inventory.sync_warehouse_stock" in body
    resolved = DeadLetter.objects.get(status=DeadLetter.Status.RESOLVED)
    assert "dead-1" not in body and f"#{resolved.pk} " not in body  # resolved: not listed
    assert "/admin/jobs/deadletter/?status__exact=open" in body
    [(html, _)] = message.alternatives
    assert tuesdays_events.number in html and "inventory.sync_warehouse_stock" in html


def test_digest_lists_disabled_webhook_endpoints_and_not_active_ones(staff):
    WebhookEndpoint.objects.create(
        url="https://hooks.example.com/active", secret="whsec_x", event_types=["order.paid"]
    )
    WebhookEndpoint.objects.create(
        url="https://hooks.example.com/gone",
        secret="whsec_y",
        is_active=False,
        disabled_at=timezone.now(),
        disabled_reason="The receiver answered 410 Gone.",
    )

    emails.send_operator_digest(today=WEDNESDAY)

    body = mail.outbox[0].body
    assert "DISABLED WEBHOOK ENDPOINTS: 1" in body
    assert "https://hooks.example.com/gone" in body
    assert "https://hooks.example.com/active" not in body


def test_digest_sent_twice_reaches_each_person_once(staff):
    emails.send_operator_digest(today=WEDNESDAY)

    assert emails.send_operator_digest(today=WEDNESDAY)["sent"] == 0

    assert len(mail.outbox) == 2
    assert EmailLog.objects.filter(kind=EmailLog.Kind.OPERATOR_DIGEST).count() == 2


def test_digest_task_reports_the_period_of_today(staff):
    result = send_operator_digest()

    date_from, date_to = selectors.digest_period(timezone.localdate())
    assert result == {"from": f"{date_from}", "to": f"{date_to}", "sent": 2}
