"""The order page's steps, in the shopper's words, read from the rows the tasks write.

Three steps: the payment, the e-mail (the confirmation, or the notice that
the payment failed) and the invoice. Webhooks are the shop's business, not
the shopper's: operators follow them in admin. It reads orders,
notifications, reports and jobs, so it lives in the web layer, above all of
them (see docs/architecture.md, Layers).

A status request costs a fixed number of queries whatever the order holds:
the order, its payment, its e-mail kinds, its invoice and its open dead
letters (tests/storefront/test_order_page.py counts them).
"""

from django.urls import reverse
from django.utils import timezone

from inventory.money import format_money
from jobs.models import DeadLetter
from notifications.models import EmailLog
from orders.models import Order, Payment
from orders.selectors import pay_again_until

from .shop_time import format_shop_time

PENDING, DONE, FAILED, SKIPPED = "pending", "done", "failed", "skipped"
FINAL_STATES = {DONE, FAILED, SKIPPED}
STATE_LABELS = {PENDING: "In progress", DONE: "Done", FAILED: "Failed", SKIPPED: "Not needed"}


CONFIRMATION_TASK = "notifications.send_order_confirmation"
FAILURE_NOTICE_TASK = "notifications.send_payment_failed_email"
INVOICE_TASK = "reports.generate_invoice_pdf"
REFUND_NOTICE_TASK = "notifications.send_payment_refunded_email"
SHOP_TOLD = "The shop has been told and will sort it out; you don't need to do anything."


# How often the order page asks for an update, by how long the order has gone
# without changing state (Order.updated_at): (under this many seconds, every
# this many seconds), then POLL_SLOWEST_SECONDS. A fresh order's steps finish
# within seconds; one that waits minutes is waiting on a retry.
POLL_SCHEDULE = ((60, 1), (180, 5), (600, 15))
POLL_SLOWEST_SECONDS = 30


def poll_seconds(order: Order, progress: dict, *, now=None) -> int | None:
    """Seconds until the order page asks again, or None once every step is final."""
    if progress["final"]:
        return None
    quiet = ((now or timezone.now()) - order.updated_at).total_seconds()
    for under, seconds in POLL_SCHEDULE:
        if quiet < under:
            return seconds
    return POLL_SLOWEST_SECONDS


def order_progress(order: Order) -> dict:
    """The order page's state: a headline, each step, and whether to keep polling.

    A step is final when it is done, failed or skipped; the page stops
    polling once every step is final.
    """
    payment = Payment.objects.filter(order=order).first()
    email_kinds = set(EmailLog.objects.filter(order=order).values_list("kind", flat=True))
    # One query for the invoice and its failure (written just before the render
    # task's dead letter, so the page says so at once).
    invoice_number, invoice_failure = (
        Order.objects.filter(pk=order.pk)
        .values_list("invoice__number", "invoice_failure__id")
        .get()
    )
    failed_tasks = set(
        DeadLetter.objects.filter(
            reference=f"order:{order.public_id}", status=DeadLetter.Status.OPEN
        ).values_list("task_name", flat=True)
    )
    until = pay_again_until(payment) if payment and order.status == Order.Status.CANCELLED else None
    steps = [
        _payment_step(order, payment),
        _email_step(order, payment, email_kinds, failed_tasks),
        _invoice_step(order, invoice_number, failed_tasks, failed=invoice_failure is not None),
    ]
    for step in steps:
        step["state_label"] = STATE_LABELS[step["state"]]
    headline, explanation, tone = _summary(order, payment, until)
    return {
        "order": str(order.public_id),
        "number": order.number,
        "status": order.status,
        "status_display": "Payment declined" if until else order.get_status_display(),
        "headline": headline,
        "explanation": explanation,
        "tone": tone,
        "pay_again": {
            "allowed": until is not None,
            "until": until.isoformat() if until else None,
            "until_display": format_shop_time(until) if until else "",
        },
        "steps": steps,
        "final": all(step["state"] in FINAL_STATES for step in steps),
    }


def _summary(order: Order, payment: Payment | None, until) -> tuple[str, str, str]:
    """(headline, explanation, tone) for the notice at the top of the page."""
    if order.status == Order.Status.PAID:
        return (
            f"Thank you, {order.full_name}! Your order is paid.",
            "Your confirmation e-mail and invoice follow below.",
            "success",
        )
    if order.status == Order.Status.CONFIRMING_PAYMENT:
        return (
            "We are confirming your payment",
            "The card gateway has not told us yet whether the charge went through. "
            "Your order stays reserved until we know for sure; nothing is cancelled on a guess.",
            "info",
        )
    refunded = payment is not None and payment.status in (
        Payment.Status.REFUND_DUE,
        Payment.Status.REFUNDED,
    )
    if refunded:
        return (
            "This order was cancelled, and your payment refunded",
            "Your card was charged after the order had been cancelled. We refund the "
            "full amount and e-mail you when it is done.",
            "error",
        )
    if order.status == Order.Status.PENDING_PAYMENT:
        return (
            f"Thank you, {order.full_name}! We have your order.",
            "We are taking the payment now. This page follows each step by itself.",
            "info",
        )
    declined = payment is not None and payment.status == Payment.Status.DECLINED
    if declined and until:
        return (
            "Your card was declined",
            f"Nothing was charged. You can pay for this order with another card until "
            f"{format_shop_time(until)}; its items are reserved again if they are still in stock.",
            "error",
        )
    if declined:
        return (
            "This order was cancelled",
            "Your card was declined and nothing was charged. The items are back on sale; "
            "please place a new order.",
            "error",
        )
    return ("This order was cancelled", order.cancel_reason or "Nothing was charged.", "error")


def _payment_step(order: Order, payment: Payment | None) -> dict:
    step = {"name": "payment", "label": "The payment"}
    if payment is None:  # e.g. an order created by hand in admin
        return {**step, "state": SKIPPED, "detail": "No card payment for this order."}
    if payment.status == Payment.Status.SUCCEEDED:
        amount = format_money(payment.amount, payment.currency)
        detail = f"{amount} charged to your card ending {payment.card_last4}."
        return {**step, "state": DONE, "detail": detail}
    if payment.status == Payment.Status.DECLINED:
        detail = f"Your card ending {payment.card_last4} was declined"
        reason = payment.failure_message.strip().rstrip(".")
        # The gateway's reason, unless it only says "declined" again.
        detail += f" ({reason})." if reason and "declined" not in reason.lower() else "."
        return {**step, "state": FAILED, "detail": detail + " Nothing was charged."}
    if payment.status == Payment.Status.FAILED:
        # Given up on: the gateway kept failing (a dead letter), or the order
        # stayed unpaid too long (the operators' digest lists it).
        detail = f"The payment could not be completed, so nothing was charged. {SHOP_TOLD}"
        return {**step, "state": FAILED, "detail": detail}
    if payment.status == Payment.Status.REFUNDED:
        amount = format_money(payment.amount, payment.currency)
        detail = f"Your card was charged after the order was cancelled; {amount} was refunded."
        return {**step, "state": FAILED, "detail": detail}
    if payment.status == Payment.Status.REFUND_DUE:
        detail = "Your card was charged after the order was cancelled; we are refunding it…"
        return {**step, "state": PENDING, "detail": detail}
    if order.status == Order.Status.CONFIRMING_PAYMENT:
        return {**step, "state": PENDING, "detail": "Confirming your payment…"}
    # `attempts` counts a call before it is made: 1 is the first try. A
    # failure message on a pending payment is a temporary error being retried.
    if payment.attempts > 1 or payment.failure_message:
        return {
            **step,
            "state": PENDING,
            "detail": "The payment service is slow; we'll keep trying.",
        }
    return {**step, "state": PENDING, "detail": f"Charging your card ending {payment.card_last4}…"}


def _email_step(order: Order, payment, kinds: set[str], failed_tasks: set[str]) -> dict:
    if payment is not None and payment.status in (
        Payment.Status.REFUND_DUE,
        Payment.Status.REFUNDED,
    ):
        step = {"name": "email", "label": "The e-mail about the refund"}
        if EmailLog.Kind.PAYMENT_REFUNDED in kinds:
            return {**step, "state": DONE, "detail": f"Sent to {order.email}."}
        if REFUND_NOTICE_TASK in failed_tasks:
            return {**step, "state": FAILED, "detail": f"We could not send it. {SHOP_TOLD}"}
        return {**step, "state": PENDING, "detail": "Sent once the refund is made."}
    if order.status == Order.Status.CANCELLED:
        step = {"name": "email", "label": "The e-mail about the failed payment"}
        if EmailLog.Kind.PAYMENT_FAILED in kinds:
            return {**step, "state": DONE, "detail": f"Sent to {order.email}."}
        if FAILURE_NOTICE_TASK in failed_tasks:
            return {**step, "state": FAILED, "detail": f"We could not send it. {SHOP_TOLD}"}
        return {**step, "state": PENDING, "detail": f"Sending it to {order.email}…"}
    step = {"name": "email", "label": "The confirmation e-mail"}
    if EmailLog.Kind.ORDER_CONFIRMATION in kinds:
        return {**step, "state": DONE, "detail": f"Sent to {order.email}."}
    if CONFIRMATION_TASK in failed_tasks:
        return {**step, "state": FAILED, "detail": f"We could not send it. {SHOP_TOLD}"}
    if order.status == Order.Status.PAID:
        return {**step, "state": PENDING, "detail": f"Sending it to {order.email}…"}
    return {**step, "state": PENDING, "detail": "Sent once the payment goes through."}


def _invoice_step(
    order: Order, invoice_number: str | None, failed_tasks: set[str], *, failed: bool = False
) -> dict:
    step = {"name": "invoice", "label": "The invoice", "url": None}
    if invoice_number:
        url = reverse("orders:invoice", kwargs={"public_id": order.public_id})
        return {**step, "state": DONE, "detail": f"Invoice {invoice_number} is ready.", "url": url}
    if order.status == Order.Status.CANCELLED:
        return {**step, "state": SKIPPED, "detail": "No invoice: nothing was charged."}
    if failed or INVOICE_TASK in failed_tasks:  # reports.InvoiceFailure, or a dead letter
        return {
            **step,
            "state": FAILED,
            "detail": f"The invoice could not be produced. {SHOP_TOLD}",
        }
    if order.status == Order.Status.PAID:
        return {**step, "state": PENDING, "detail": "Preparing the PDF…"}
    return {**step, "state": PENDING, "detail": "Made once the payment goes through."}
