"""Reads about orders: each pipeline step's state for the order page, stock unpaid orders hold."""

from collections.abc import Iterable

from django.db.models import Sum
from django.urls import reverse

from notifications.models import EmailLog, WebhookDelivery
from reports.models import Invoice

from .models import Order, OrderItem, Payment


def quantities_reserved_by_unpaid_orders(*, product_ids: Iterable[int]) -> dict[int, int]:
    """{product id: units} held by orders still awaiting payment.

    Checkout takes these units out of the shop's stock; until the order is
    paid (the warehouse then ships them) or cancelled (they come back), the
    warehouse still counts them as on hand.
    """
    rows = (
        OrderItem.objects.filter(
            product_id__in=list(product_ids), order__status=Order.Status.PENDING_PAYMENT
        )
        .values("product_id")
        .annotate(units=Sum("quantity"))
    )
    return {row["product_id"]: row["units"] for row in rows}


PENDING, DONE, FAILED, SKIPPED = "pending", "done", "failed", "skipped"
FINAL_STATES = {DONE, FAILED, SKIPPED}


def order_progress(order: Order) -> dict:
    """Each step's state from the database rows the tasks write (not from Celery).

    A step is final when it is done, failed or skipped; the page stops
    polling once every step is final.
    """
    payment = Payment.objects.filter(order=order).first()
    email_kinds = set(EmailLog.objects.filter(order=order).values_list("kind", flat=True))
    invoice = Invoice.objects.filter(order=order).first()
    steps = [
        _payment_step(payment),
        _email_step(order, email_kinds),
        _invoice_step(order, invoice),
        _webhook_step(order),
    ]
    return {
        "order": str(order.public_id),
        "number": order.number,
        "status": order.status,
        "status_display": order.get_status_display(),
        "cancel_reason": order.cancel_reason,
        "steps": steps,
        "final": all(step["state"] in FINAL_STATES for step in steps),
    }


def _payment_step(payment: Payment | None) -> dict:
    if payment is None:  # e.g. an order created by hand in admin
        state, detail = SKIPPED, "No card payment for this order"
    elif payment.status == Payment.Status.SUCCEEDED:
        state = DONE
        detail = f"Card ending {payment.card_last4} charged {payment.amount} {payment.currency}"
    elif payment.status in (Payment.Status.DECLINED, Payment.Status.FAILED):
        state, detail = FAILED, payment.failure_message or "Payment failed"
    elif payment.attempts:
        state, detail = PENDING, f"Gateway busy, retrying (attempt {payment.attempts})"
    else:
        state, detail = PENDING, "Charging your card"
    return {"name": "payment", "label": "Payment", "state": state, "detail": detail}


def _email_step(order: Order, kinds: set[str]) -> dict:
    if EmailLog.Kind.ORDER_CONFIRMATION in kinds:
        state, detail = DONE, f"Confirmation sent to {order.email}"
    elif EmailLog.Kind.PAYMENT_FAILED in kinds:
        state, detail = DONE, f"Payment failure notice sent to {order.email}"
    elif order.status == Order.Status.CANCELLED:
        state, detail = PENDING, "Sending the cancellation notice"
    else:
        state, detail = PENDING, "Waiting for payment"
    if order.status == Order.Status.PAID and state == PENDING:
        detail = "Sending your confirmation"
    return {"name": "email", "label": "Confirmation email", "state": state, "detail": detail}


def _invoice_step(order: Order, invoice: Invoice | None) -> dict:
    step = {"name": "invoice", "label": "Invoice", "url": None}
    if invoice:
        url = reverse("orders:invoice", kwargs={"public_id": order.public_id})
        return {**step, "state": DONE, "detail": f"Invoice {invoice.number} ready", "url": url}
    if order.status == Order.Status.CANCELLED:
        return {**step, "state": SKIPPED, "detail": "No invoice for a cancelled order"}
    if order.status == Order.Status.PAID:
        return {**step, "state": PENDING, "detail": "Generating the PDF"}
    return {**step, "state": PENDING, "detail": "Waiting for payment"}


def _webhook_step(order: Order) -> dict:
    step = {"name": "webhooks", "label": "Webhooks"}
    statuses = list(WebhookDelivery.objects.filter(order=order).values_list("status", flat=True))
    if not statuses:
        return {**step, "state": DONE, "detail": "No webhook endpoints subscribed"}
    if WebhookDelivery.Status.FAILED in statuses:
        failed = statuses.count(WebhookDelivery.Status.FAILED)
        return {**step, "state": FAILED, "detail": f"{failed} of {len(statuses)} failed"}
    open_statuses = {WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING}
    waiting = sum(status in open_statuses for status in statuses)
    if waiting:
        detail = f"Delivering ({len(statuses) - waiting} of {len(statuses)} delivered)"
        if WebhookDelivery.Status.RETRYING in statuses:
            detail += ", retrying"
        return {**step, "state": PENDING, "detail": detail}
    return {**step, "state": DONE, "detail": f"{len(statuses)} delivered"}
