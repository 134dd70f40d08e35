"""The order page's polling with htmx, on a fake clock: the server picks each delay, then stops it.

Playwright's clock drives the page's timers, so minutes pass in a moment and
nothing depends on how fast this machine is. The requests and their answers
are real (the live server); the server reads the real time, so an order that
waited is made by moving its `updated_at` back.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from playwright.sync_api import expect

from notifications.models import EmailLog
from orders.models import Order, Payment
from reports.models import Invoice
from sandbox.models import GatewayPaymentMethod
from tests.factories import ProductFactory, create_order

from .journeys import enter_card

PROGRESS = "/progress/"


def open_order_page(page, live_server, order) -> list[int]:
    """Open `order`'s page as its shopper, on a fake clock; return the statuses of its polls."""
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
        lambda response: answers.append(response.status) if PROGRESS in response.url else None,
    )
    page.clock.install()
    page.goto(order.get_absolute_url())
    return answers


@pytest.fixture
def pending_order_page(page, live_server, transactional_db):
    """A browser looking at an order whose payment never moves (no task was published)."""
    order = create_order({ProductFactory(): 1}, status=Order.Status.PENDING_PAYMENT)
    return order, open_order_page(page, live_server, order)


def advance(page, answers, *, seconds: int, step: int = 1):
    """Let `seconds` of page time pass, `step` at a time, letting a request started finish."""
    for _ in range(0, seconds, step):
        before = len(answers)
        page.clock.run_for(step * 1000)
        for _ in range(10):  # up to 0.3 s of real time for a request the step started
            if len(answers) > before:
                break
            page.wait_for_timeout(30)


def waited(order, *, minutes: float):
    Order.objects.filter(pk=order.pk).update(updated_at=timezone.now() - timedelta(minutes=minutes))


def test_a_304_swaps_nothing_and_polling_goes_on_at_the_delay_the_server_chose(
    pending_order_page, page
):
    order, answers = pending_order_page
    # A mark on the live list's first item: gone if anything replaced it.
    page.evaluate("document.querySelector('#order-steps').dataset.mark = 'kept'")

    advance(page, answers, seconds=30)
    assert len(answers) >= 25  # about once a second while the order is fresh
    assert set(answers) == {304}  # the page sent the ETag it was rendered with
    expect(page.locator("#order-steps")).to_have_attribute("data-mark", "kept")
    expect(page.locator("#order-steps-refresh")).to_have_attribute("hx-trigger", "every 1s")

    waited(order, minutes=4)  # the server now asks for a poll every 15 s
    advance(page, answers, seconds=5)
    assert answers[-1] == 200  # the new delay is a change: one answer with a body
    expect(page.locator("#order-steps-refresh")).to_have_attribute("hx-trigger", "every 15s")
    asked = len(answers)
    advance(page, answers, seconds=60, step=5)
    assert 3 <= len(answers) - asked <= 5
    assert set(answers[asked:]) == {304}

    waited(order, minutes=20)
    advance(page, answers, seconds=20, step=5)
    expect(page.locator("#order-steps-refresh")).to_have_attribute("hx-trigger", "every 30s")
    asked = len(answers)
    advance(page, answers, seconds=120, step=10)
    assert 3 <= len(answers) - asked <= 5


def test_every_step_final_updates_the_page_and_stops_the_polling(pending_order_page, page):
    order, answers = pending_order_page
    advance(page, answers, seconds=3)
    live = page.locator("#order-steps-live")
    live.evaluate("element => { element.dataset.mark = 'kept' }")

    Payment.objects.filter(order=order).update(
        status=Payment.Status.SUCCEEDED, settled_at=timezone.now()
    )
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID)
    EmailLog.objects.create(
        key=f"order:{order.pk}:order_confirmation", kind=EmailLog.Kind.ORDER_CONFIRMATION,
        order=order, to=order.email, subject="Thanks",
    )  # fmt: skip
    Invoice.objects.create(order=order, number="INV-T1", file="invoices/t1.pdf", size_bytes=1)
    advance(page, answers, seconds=3)

    expect(page.locator("#order-status")).to_have_text("Paid")
    expect(page.locator("#order-notice")).to_contain_text("Your order is paid")
    for step in ("payment", "email", "invoice"):
        expect(page.locator(f'[data-step="{step}"]')).to_have_attribute("data-state", "done")
    expect(page.get_by_role("link", name="Download the invoice (PDF)")).to_be_visible()
    expect(page.locator("#order-steps")).to_have_attribute("data-final", "true")
    poller = page.locator("#order-steps-refresh")
    expect(poller).to_be_hidden()
    assert poller.get_attribute("hx-get") is None
    # The live region is the same element, the steps in it replaced: screen readers hear it.
    expect(live).to_have_attribute("data-mark", "kept")
    expect(live).to_have_attribute("aria-live", "polite")
    asked = len(answers)
    advance(page, answers, seconds=300, step=30)
    assert len(answers) == asked


def test_an_update_keeps_the_card_number_being_typed_to_pay_again(
    page, live_server, transactional_db
):
    # Declined, so the page offers another card, while the e-mail about it is still on its way.
    order = create_order({ProductFactory(stock=5): 1}, status=Order.Status.CANCELLED)
    Payment.objects.filter(order=order).update(
        status=Payment.Status.DECLINED,
        failure_message="Your card was declined.",
        settled_at=timezone.now(),
    )
    answers = open_order_page(page, live_server, order)
    card = page.locator("#pay-again").get_by_label("Card number")
    expect(card).to_be_visible()
    card.fill("5555 5555")
    card.focus()

    EmailLog.objects.create(
        key=f"order:{order.pk}:payment_failed", kind=EmailLog.Kind.PAYMENT_FAILED,
        order=order, to=order.email, subject="Payment failed",
    )  # fmt: skip
    advance(page, answers, seconds=3)

    expect(page.locator('[data-step="email"]')).to_have_attribute("data-state", "done")
    assert 200 in answers
    expect(card).to_have_value("5555 5555")
    expect(card).to_be_focused()
    expect(page.locator("#order-steps-refresh")).to_be_hidden()  # every step is final


def test_a_card_refused_when_paying_again_shows_its_error_on_the_page(
    page, live_server, transactional_db
):
    order = create_order({ProductFactory(stock=5): 1}, status=Order.Status.CANCELLED)
    Payment.objects.filter(order=order).update(
        status=Payment.Status.DECLINED, settled_at=timezone.now()
    )
    open_order_page(page, live_server, order)
    pay_again = page.locator("#pay-again")
    button = pay_again.get_by_role("button", name="Pay")
    enter_card(pay_again, "4242 4242 4242 4241")
    expect(pay_again).to_contain_text("That card number is not valid. Check for a typo.")
    expect(button).to_be_disabled()  # the gateway's refusal: nothing to send

    # A token that expires before the click: the server refuses it (a 400 that the
    # boosted form shows as a page), the order is unchanged, a new card can be entered.
    enter_card(pay_again, "4242 4242 4242 4242")
    expect(button).to_be_enabled()
    GatewayPaymentMethod.objects.update(expires_at=timezone.now())
    button.click()
    expect(page.locator("#pay-again")).to_contain_text("Your card entry has expired")
    expect(page.locator("#pay-again").get_by_role("button", name="Pay")).to_be_disabled()
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
