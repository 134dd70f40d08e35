"""The order page's polling, on a fake clock: fast for a minute, then tens of seconds, then none.

Playwright's clock drives the page's timers, so minutes pass in a moment and
nothing depends on how fast this machine is. The status requests and their
answers are real (the live server).
"""

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from playwright.sync_api import expect

from notifications.models import EmailLog
from orders.models import Order, Payment
from reports.models import Invoice
from tests.factories import ProductFactory, create_order


@pytest.fixture
def pending_order_page(page, live_server, transactional_db):
    """A browser looking at an order whose payment never moves (no task was published)."""
    order = create_order({ProductFactory(): 1}, status=Order.Status.PENDING_PAYMENT)
    session = SessionStore()
    session["orders"] = [str(order.public_id)]
    session.create()
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": session.session_key,
                "url": live_server.url,
            }
        ]
    )
    answers = []
    page.on(
        "response",
        lambda response: answers.append(response.status) if "/status/" in response.url else None,
    )
    page.clock.install()
    page.goto(order.get_absolute_url())
    return order, answers


def advance(page, answers, *, seconds: int, step: int = 1):
    """Let `seconds` of page time pass, `step` at a time, letting a request started finish."""
    for _ in range(0, seconds, step):
        before = len(answers)
        page.clock.run_for(step * 1000)
        for _ in range(10):  # up to 0.3 s of real time for a request the step started
            if len(answers) > before:
                break
            page.wait_for_timeout(30)


def test_polling_backs_off_after_a_minute_answers_304_and_stops_when_final(
    pending_order_page, page
):
    order, answers = pending_order_page

    advance(page, answers, seconds=60)
    first_minute = len(answers)
    assert first_minute >= 45  # about once a second while the order is fresh
    assert answers[0] == 200 and set(answers[1:]) == {304}  # nothing changed: no body sent

    advance(page, answers, seconds=180, step=5)  # to minute 4
    at_minute_four = len(answers)
    assert at_minute_four - first_minute <= 15  # backing off
    advance(page, answers, seconds=120, step=5)  # to minute 6
    assert len(answers) - at_minute_four <= 5  # every 30 s by now
    assert set(answers[1:]) == {304}

    # Every step finishes: the next answer says so, and the page stops asking.
    Payment.objects.filter(order=order).update(
        status=Payment.Status.SUCCEEDED, settled_at=timezone.now()
    )
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID)
    EmailLog.objects.create(
        key=f"order:{order.pk}:order_confirmation", kind=EmailLog.Kind.ORDER_CONFIRMATION,
        order=order, to=order.email, subject="Thanks",
    )  # fmt: skip
    Invoice.objects.create(order=order, number="INV-T1", file="invoices/t1.pdf", size_bytes=1)
    advance(page, answers, seconds=60, step=5)
    expect(page.locator("#order-steps")).to_have_attribute("data-final", "true")
    expect(page.locator("#order-status")).to_have_text("Paid")
    asked = len(answers)
    advance(page, answers, seconds=300, step=30)
    assert len(answers) == asked
