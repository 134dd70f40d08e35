"""The shopper's order page: truthful steps, cheap polling, and paying again after a decline."""

import json
import re
from datetime import datetime, time, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jobs.models import DeadLetter, OutboxMessage
from notifications.models import EmailLog
from orders.models import Order, Payment
from storefront.progress import order_progress, poll_seconds
from tests.factories import ProductFactory, create_order

pytestmark = pytest.mark.django_db


def steps(order) -> dict[str, dict]:
    return {step["name"]: step for step in order_progress(order)["steps"]}


def set_payment(order, **fields):
    Payment.objects.filter(order=order).update(**fields)


@pytest.fixture
def pending_order():
    return create_order({ProductFactory(): 1}, status=Order.Status.PENDING_PAYMENT)


@pytest.fixture
def shopper(client):
    """A browser session that placed the orders it is given."""

    def owns(order):
        session = client.session
        session["orders"] = [*session.get("orders", []), str(order.public_id)]
        session.save()
        return client

    return owns


# --- what each step says ----------------------------------------------------------


def test_the_first_charge_attempt_reads_charging_your_card_even_when_slow(pending_order):
    for attempts in (0, 1):  # `attempts` is counted before the call is made
        set_payment(pending_order, attempts=attempts)
        payment = steps(pending_order)["payment"]
        assert (payment["state"], payment["detail"]) == (
            "pending",
            "Charging your card ending 4242…",
        )


def test_a_real_retry_says_the_payment_service_is_slow(pending_order):
    set_payment(pending_order, attempts=1, failure_message="Gateway answered 503")
    assert steps(pending_order)["payment"]["detail"] == (
        "The payment service is slow; we'll keep trying."
    )
    set_payment(pending_order, attempts=2, failure_message="")
    assert "slow" in steps(pending_order)["payment"]["detail"]


def test_a_payment_being_reconciled_reads_confirming_your_payment(pending_order):
    # Retries ran out without an answer: the gateway is asked again later (orders.reconciliation).
    Order.objects.filter(pk=pending_order.pk).update(status=Order.Status.CONFIRMING_PAYMENT)
    pending_order.refresh_from_db()
    payment = steps(pending_order)["payment"]
    assert (payment["state"], payment["detail"]) == ("pending", "Confirming your payment…")


def test_a_decline_shows_the_failure_notice_as_what_it_is():
    order = create_order({ProductFactory(): 1}, status=Order.Status.CANCELLED)
    set_payment(order, failure_message="Your card was declined.")
    EmailLog.objects.create(
        key=f"order:{order.pk}:payment_failed", kind=EmailLog.Kind.PAYMENT_FAILED,
        order=order, to=order.email, subject="Payment failed",
    )  # fmt: skip
    progress = order_progress(order)
    by_name = {step["name"]: step for step in progress["steps"]}
    assert by_name["payment"]["state"] == "failed"
    assert "declined" in by_name["payment"]["detail"]
    assert by_name["email"]["label"] == "The e-mail about the failed payment"
    assert by_name["email"]["state"] == "done"
    assert "confirmation" not in by_name["email"]["label"].lower()
    assert by_name["invoice"]["state"] == "skipped"
    assert by_name["payment"]["detail"] == (
        "Your card ending 4242 was declined. Nothing was charged."
    )
    assert progress["headline"] == "Your card was declined"
    assert progress["status_display"] == "Payment declined"
    assert progress["pay_again"]["allowed"] is True
    assert progress["final"] is True  # nothing left to wait for: polling stops


def test_a_decline_gives_the_gateways_reason_when_it_has_one():
    order = create_order({ProductFactory(): 1}, status=Order.Status.CANCELLED)
    set_payment(order, failure_message="Insufficient funds.")
    assert steps(order)["payment"]["detail"] == (
        "Your card ending 4242 was declined (Insufficient funds). Nothing was charged."
    )


def test_a_step_that_failed_for_good_says_the_shop_has_been_told():
    order = create_order({ProductFactory(): 1}, status=Order.Status.PAID)
    DeadLetter.objects.create(
        task_name="reports.generate_invoice_pdf", task_id="t-1",
        reference=f"order:{order.public_id}", exception_class="PermanentError",
        first_failed_at=timezone.now(),
        last_failed_at=timezone.now(),
    )  # fmt: skip
    invoice = steps(order)["invoice"]
    assert invoice["state"] == "failed"
    assert "The shop has been told" in invoice["detail"]
    set_payment(order, status=Payment.Status.FAILED)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)
    order.refresh_from_db()
    assert "The shop has been told" in steps(order)["payment"]["detail"]


def test_no_webhook_step_for_shoppers(pending_order):
    assert list(steps(pending_order)) == ["payment", "email", "invoice"]


# --- the status request -----------------------------------------------------------


def test_status_answers_if_none_match_with_304_until_something_changes(shopper, pending_order):
    client = shopper(pending_order)
    url = reverse("orders:status", args=[pending_order.public_id])
    first = client.get(url)
    etag = first["ETag"]
    assert first.status_code == 200 and etag

    again = client.get(url, headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""

    set_payment(pending_order, status=Payment.Status.SUCCEEDED)
    Order.objects.filter(pk=pending_order.pk).update(status=Order.Status.PAID)
    changed = client.get(url, headers={"if-none-match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert changed.json()["status"] == "paid"


@pytest.mark.parametrize("lines", [1, 12])
def test_a_status_request_costs_a_small_fixed_number_of_queries(
    shopper, django_assert_max_num_queries, lines
):
    order = create_order({ProductFactory(): 1 for _ in range(lines)}, status=Order.Status.PAID)
    for kind in (EmailLog.Kind.ORDER_CONFIRMATION, EmailLog.Kind.PAYMENT_FAILED):
        EmailLog.objects.create(
            key=f"order:{order.pk}:{kind}", kind=kind, order=order, to=order.email
        )
    client = shopper(order)
    url = reverse("orders:status", args=[order.public_id])
    # session, order, payment, e-mails, invoice, dead letters
    with django_assert_max_num_queries(6):
        assert client.get(url).status_code == 200


# --- the page's updates (htmx) ----------------------------------------------------------


def poller(page: str) -> dict[str, str]:
    """The attributes of the element that asks for the next update."""
    tag = re.search(r'<p id="order-steps-refresh"[^>]*>', page).group(0)
    return dict(re.findall(r'([\w-]+)="([^"]*)"', tag))


def step_items(html: str) -> list[str]:
    return [" ".join(item.split()) for item in re.findall(r'<li class="step".*?</li>', html, re.S)]


def test_the_page_and_each_update_render_the_same_steps(shopper, pending_order):
    client = shopper(pending_order)
    page = client.get(pending_order.get_absolute_url()).content.decode()
    update = client.get(reverse("orders:progress", args=[pending_order.public_id]))
    assert update.status_code == 200
    fragment = update.content.decode()
    assert len(step_items(page)) == 3
    assert step_items(fragment) == step_items(page)
    # Each part of the page that changes comes back by id, swapped in its place.
    for element in (
        "order-status",
        "order-notice",
        "pay-again",
        "order-steps",
        "order-steps-refresh",
    ):
        assert re.search(rf'id="{element}"[^>]*hx-swap-oob="true"', fragment), element
    assert 'id="order-steps-live"' not in fragment  # the live region around the steps stays
    assert "csrfmiddlewaretoken" not in fragment  # the page's form is kept (hx-preserve)


def test_an_unchanged_order_answers_the_pages_etag_with_304_and_a_change_with_the_new_state(
    shopper, pending_order
):
    client = shopper(pending_order)
    page = client.get(pending_order.get_absolute_url()).content.decode()
    attributes = poller(page)
    assert attributes["hx-trigger"] == "every 1s"
    url = attributes["hx-get"]
    assert url == reverse("orders:progress", args=[pending_order.public_id])
    sent = json.loads(attributes["hx-headers"].replace("&quot;", '"'))
    unchanged = client.get(url, headers=sent)
    assert unchanged.status_code == 304 and unchanged.content == b""

    set_payment(pending_order, status=Payment.Status.DECLINED, settled_at=timezone.now())
    Order.objects.filter(pk=pending_order.pk).update(status=Order.Status.CANCELLED)
    changed = client.get(url, headers=sent)
    assert changed.status_code == 200
    assert changed["ETag"] != sent["If-None-Match"]
    fragment = changed.content.decode()
    assert "Your card was declined" in fragment
    assert re.search(r'<section id="pay-again"(?![^>]*hidden)[^>]*>', fragment)


def test_the_server_slows_the_polling_as_the_order_waits_and_stops_it_when_final(pending_order):
    progress = order_progress(pending_order)
    changed = pending_order.updated_at
    delays = [
        poll_seconds(pending_order, progress, now=changed + timedelta(seconds=seconds))
        for seconds in (0, 59, 61, 179, 181, 599, 601, 3600)
    ]
    assert delays == [1, 1, 5, 5, 15, 15, 30, 30]
    assert poll_seconds(pending_order, {**progress, "final": True}) is None


def test_a_final_order_page_does_not_poll(shopper):
    order = create_order({ProductFactory(): 1}, status=Order.Status.CANCELLED)
    set_payment(order, failure_message="Card declined.", settled_at=timezone.now())
    EmailLog.objects.create(
        key=f"order:{order.pk}:payment_failed", kind=EmailLog.Kind.PAYMENT_FAILED,
        order=order, to=order.email, subject="Payment failed",
    )  # fmt: skip
    client = shopper(order)
    for body in (
        client.get(order.get_absolute_url()).content.decode(),
        client.get(reverse("orders:progress", args=[order.public_id])).content.decode(),
    ):
        attributes = poller(body)
        assert "hx-get" not in attributes and "hx-trigger" not in attributes
        assert "hidden" in re.search(r'<p id="order-steps-refresh"[^>]*>', body).group(0)
        assert 'data-final="true"' in body


@pytest.mark.parametrize("lines", [1, 12])
def test_an_update_costs_a_small_fixed_number_of_queries(
    shopper, django_assert_max_num_queries, lines
):
    order = create_order({ProductFactory(): 1 for _ in range(lines)}, status=Order.Status.PAID)
    client = shopper(order)
    url = reverse("orders:progress", args=[order.public_id])
    # session, order, payment, e-mails, invoice, dead letters
    with django_assert_max_num_queries(6):
        assert client.get(url).status_code == 200


class ScriptsAndHandlers(HTMLParser):
    """Collects what a Content-Security-Policy without 'unsafe-inline' would block."""

    def __init__(self):
        super().__init__()
        self.inline = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.inline.append("<script> without src")
        self.inline += [f"{tag} {name}" for name in names if name.startswith(("on", "hx-on"))]
        if "style" in names:
            self.inline.append(f"{tag} style")


def test_the_order_page_needs_no_inline_script_or_style(shopper, declined):
    page = shopper(declined).get(declined.get_absolute_url()).content.decode()
    parser = ScriptsAndHandlers()
    parser.feed(page)
    assert parser.inline == []
    assert re.search(r'<script src="/static/vendor/htmx/htmx\.min\.js" defer>', page)
    config = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", page).group(1)
    assert json.loads(config)["includeIndicatorStyles"] is False  # htmx adds no <style>
    assert json.loads(config)["allowEval"] is False


# --- paying again -------------------------------------------------------------------

DECLINED_CARD_PAGE = "Pay with another card"
ANOTHER_CARD = "5555 5555 5555 4444"
# Refused before the gateway is asked (not the owner, no CSRF token).
UNCHECKED_TOKEN = {"payment_method": "pm_never_sent_to_the_gateway"}


@pytest.fixture
def declined():
    order = create_order({ProductFactory(stock=5): 1}, status=Order.Status.CANCELLED)
    set_payment(order, failure_message="Your card was declined.")
    return order


def test_the_declined_order_page_offers_to_pay_with_another_card_until_a_stated_time(
    shopper, declined
):
    page = shopper(declined).get(declined.get_absolute_url()).content.decode()
    assert DECLINED_CARD_PAGE in page
    assert 'id="pay-again-until">' in page
    deadline = timezone.localtime(Payment.objects.get(order=declined).settled_at) + timedelta(
        minutes=30
    )
    assert deadline.strftime("%H:%M") in page


def test_a_pay_again_deadline_tomorrow_reads_with_its_date_in_the_shops_time_zone(
    shopper, declined, settings
):
    settings.TIME_ZONE = "Europe/Berlin"
    settings.SHOP_LOCALE = "en_IE"
    berlin = ZoneInfo("Europe/Berlin")
    tomorrow = timezone.now().astimezone(berlin).date() + timedelta(days=1)
    deadline = datetime.combine(tomorrow, time(9, 5), tzinfo=berlin)
    # Declined now; the shop waits until 09:05 tomorrow, Berlin time.
    settings.ORDERLY_ABANDONED_ORDER_SECONDS = (deadline - timezone.now()).total_seconds()
    set_payment(declined, settled_at=timezone.now())

    page = shopper(declined).get(declined.get_absolute_url()).content.decode()

    weekday = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[tomorrow.weekday()]
    month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sept", "Oct", "Nov", "Dec"][
        tomorrow.month - 1
    ]
    expected = f"{weekday}, {tomorrow.day} {month}, 09:05 Central European Time"  # CLDR en_IE
    assert f">{expected}</time>" in page  # the deadline by the form
    assert f"with another card until {expected};" in page  # and in the notice


def test_paying_again_redirects_to_the_same_order_now_awaiting_payment(
    shopper, declined, card_token
):
    response = shopper(declined).post(
        reverse("orders:pay_again", args=[declined.public_id]),
        {"payment_method": card_token(ANOTHER_CARD)},
    )
    assert response.status_code == 302 and response.url == declined.get_absolute_url()
    declined.refresh_from_db()
    assert declined.status == Order.Status.PENDING_PAYMENT
    payment = Payment.objects.get(order=declined)
    assert (payment.card_last4, payment.card_brand) == ("4444", "mastercard")
    assert Order.objects.count() == 1


def test_a_second_click_does_not_charge_twice(shopper, declined, card_token):
    client = shopper(declined)
    url = reverse("orders:pay_again", args=[declined.public_id])
    token = card_token(ANOTHER_CARD)
    assert client.post(url, {"payment_method": token}).status_code == 302
    again = client.post(url, {"payment_method": token})  # the same form, sent twice
    assert again.status_code == 400
    assert "already used" in again.content.decode()
    second = client.post(url, {"payment_method": card_token(ANOTHER_CARD)})  # a card typed again
    assert second.status_code == 409
    assert "already in progress" in second.content.decode()
    assert OutboxMessage.objects.filter(reference=f"order:{declined.public_id}").count() == 1


def test_a_paid_order_cannot_be_paid_again(shopper, card_token):
    order = create_order({ProductFactory(): 1}, status=Order.Status.PAID)
    response = shopper(order).post(
        reverse("orders:pay_again", args=[order.public_id]),
        {"payment_method": card_token(ANOTHER_CARD)},
    )
    assert response.status_code == 409
    assert "already paid" in response.content.decode()
    assert not OutboxMessage.objects.exists()


def test_a_token_the_gateway_refuses_gets_the_same_message_as_at_checkout(
    shopper, declined, gateway
):
    response = shopper(declined).post(
        reverse("orders:pay_again", args=[declined.public_id]),
        {"payment_method": "pm_unknowntothegateway"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "We could not use that card entry. Please enter your card again." in page
    assert 'id="id_card_number_error"' in page
    declined.refresh_from_db()
    assert declined.status == Order.Status.CANCELLED


def test_only_the_orders_owner_may_pay_again(declined):
    response = Client().post(
        reverse("orders:pay_again", args=[declined.public_id]), UNCHECKED_TOKEN
    )
    assert response.status_code == 404
    declined.refresh_from_db()
    assert declined.status == Order.Status.CANCELLED


def test_paying_again_needs_the_csrf_token(declined):
    client = Client(enforce_csrf_checks=True)
    session = client.session
    session["orders"] = [str(declined.public_id)]
    session.save()
    response = client.post(reverse("orders:pay_again", args=[declined.public_id]), UNCHECKED_TOKEN)
    assert response.status_code == 403
    declined.refresh_from_db()
    assert declined.status == Order.Status.CANCELLED


def test_paying_again_when_an_item_sold_out_meanwhile_says_which_and_changes_nothing(
    shopper, declined, card_token
):
    item = declined.items.get()
    type(item.product).objects.filter(pk=item.product_id).update(stock=0)
    url = reverse("orders:pay_again", args=[declined.public_id])
    response = shopper(declined).post(url, {"payment_method": card_token(ANOTHER_CARD)})
    assert response.status_code == 409
    assert f"Sorry, {item.product.name} is sold out." in response.content.decode()
    declined.refresh_from_db()
    assert declined.status == Order.Status.CANCELLED
    assert not OutboxMessage.objects.exists()
