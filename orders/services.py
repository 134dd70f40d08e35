"""Business operations on orders: placing them and settling their payment."""

import logging
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inventory.services import release_stock, reserve_stock
from jobs.errors import TemporaryError
from jobs.services import publish_on_commit
from notifications.services import emit_order_event

from . import gateway
from .errors import EmptyCart, PaymentDeclined
from .models import Order, OrderItem, Payment
from .pipeline import after_payment, order_pipeline

logger = logging.getLogger(__name__)

# Longer than orders.charge_payment's hard time limit: a charge attempt that
# started earlier than this has finished (or its process was killed).
CHARGE_IN_FLIGHT_SECONDS = 60


def place_order(
    *,
    quantities: Mapping[int, int],
    email: str,
    full_name: str,
    shipping_address: str,
    card_number: str,
    customer=None,
) -> Order:
    """Create a paid-for-later order from {product id: quantity} in one transaction.

    Locks the products in primary-key order, refuses unknown products and
    quantities over stock (UnknownProduct / OutOfStock, nothing changed),
    decrements stock, snapshots names and prices, and records the pipeline
    in the outbox so it is published once the transaction commits.
    """
    if not quantities:
        raise EmptyCart()
    with transaction.atomic():
        products = reserve_stock(quantities=quantities)
        total = sum(
            (products[pid].price * quantity for pid, quantity in quantities.items()),
            Decimal("0.00"),
        )
        order = Order.objects.create(
            customer=customer if customer and customer.is_authenticated else None,
            email=email,
            full_name=full_name,
            shipping_address=shipping_address,
            currency=settings.SHOP_CURRENCY,
            total=total,
        )
        OrderItem.objects.bulk_create(
            OrderItem(
                order=order,
                product=products[pid],
                sku=products[pid].sku,
                name=products[pid].name,
                unit_price=products[pid].price,
                quantity=quantity,
            )
            for pid, quantity in sorted(quantities.items())
        )
        Payment.objects.create(
            order=order,
            idempotency_key=f"order-{order.public_id}-charge",
            amount=total,
            currency=order.currency,
            card_number=card_number,
            card_last4=card_number[-4:],
        )
        publish_on_commit(order_pipeline(order.pk), reference=f"order:{order.public_id}")
        emit_order_event(order=order, event_type="order.created")
    logger.info("order %s placed (%s, total %s)", order.public_id, order.number, total)
    return order


def charge_order(*, order_id: int) -> Payment:
    """Charge an order's payment at the gateway, once.

    Idempotent: a settled payment returns at once, and the same idempotency
    key goes to the gateway on every attempt, so two deliveries of this task
    (even concurrent ones) charge the card once. No database lock is held
    during the HTTP call: the row is locked only to record the attempt and
    to settle the outcome. A decline cancels the order, releases its stock
    and e-mails the shopper. Raises TemporaryError, after recording the
    attempt, for the task to retry.
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(order_id=order_id)
        if payment.is_settled:
            return payment
        payment.attempts += 1
        payment.last_attempt_at = timezone.now()
        payment.save(update_fields=["attempts", "last_attempt_at"])
    try:
        result = gateway.charge(
            amount=payment.amount,
            currency=payment.currency,
            card_number=payment.card_number,
            idempotency_key=payment.idempotency_key,
            reference=str(Order.objects.values_list("public_id", flat=True).get(pk=order_id)),
        )
    except PaymentDeclined as exc:
        return _settle(order_id, Payment.Status.DECLINED, failure_message=str(exc))
    except TemporaryError as exc:
        Payment.objects.filter(pk=payment.pk, status=Payment.Status.PENDING).update(
            failure_message=str(exc)[:300]
        )
        raise
    return _settle(order_id, Payment.Status.SUCCEEDED, charge_id=result.charge_id)


def fail_payment(*, order_id: int, reason: str) -> Payment:
    """Give up on an order's payment after the gateway kept failing.

    Called when the charge task has exhausted its retries: the order is
    cancelled and its stock released, so nothing stays reserved forever.
    """
    return _settle(order_id, Payment.Status.FAILED, failure_message=reason)


def cancel_order(*, order: Order, reason: str) -> None:
    """Cancel an unpaid order and give its stock back. Must run in a transaction."""
    if order.status == Order.Status.CANCELLED:
        return
    release_stock(quantities={item.product_id: item.quantity for item in order.items.all()})
    order.status = Order.Status.CANCELLED
    order.cancel_reason = reason[:200]
    order.save(update_fields=["status", "cancel_reason", "updated_at"])


def cancel_abandoned_orders(*, older_than: timedelta | None = None, limit: int = 500) -> dict:
    """Cancel orders still awaiting payment after `older_than`, and release their stock.

    `older_than` defaults to settings.ORDERLY_ABANDONED_ORDER_MINUTES, which
    must stay well above the charge task's whole retry span. Each order goes
    through cancel_abandoned_order (see its guarantees). Idempotent: a
    cancelled order is no longer pending, so a second run finds nothing.
    Returns {"cancelled": n, "left_alone": n} (the task's result).
    """
    if older_than is None:
        older_than = timedelta(minutes=settings.ORDERLY_ABANDONED_ORDER_MINUTES)
    cutoff = timezone.now() - older_than
    order_ids = list(
        Order.objects.filter(
            status=Order.Status.PENDING_PAYMENT,
            created_at__lt=cutoff,
            payment__status=Payment.Status.PENDING,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    minutes = int(older_than.total_seconds() // 60)
    cancelled = sum(
        cancel_abandoned_order(order_id=order_id, reason=f"Not paid within {minutes} minutes.")
        for order_id in order_ids
    )
    if cancelled:
        logger.info("cancelled %d abandoned order(s)", cancelled)
    return {"cancelled": cancelled, "left_alone": len(order_ids) - cancelled}


def cancel_abandoned_order(*, order_id: int, reason: str) -> bool:
    """Give up on one unpaid order: fail its payment, cancel it, release its stock.

    Goes through the same settlement as a failed charge (_settle): the
    payment row is locked and only a payment still pending is failed, so an
    order whose charge succeeded meanwhile stays paid. A payment whose last
    charge attempt started within CHARGE_IN_FLIGHT_SECONDS is left alone:
    the gateway may be charging the card right now. True if cancelled now.
    """
    recent = timezone.now() - timedelta(seconds=CHARGE_IN_FLIGHT_SECONDS)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(order_id=order_id)
        if payment.is_settled:
            return False
        if payment.last_attempt_at and payment.last_attempt_at > recent:
            logger.info("order #%s: a charge attempt may be in flight; not cancelling", order_id)
            return False
        settled = _settle(
            order_id, Payment.Status.FAILED, failure_message=reason, cancel_reason=reason
        )
    return settled.status == Payment.Status.FAILED


def _settle(
    order_id: int,
    status: str,
    *,
    charge_id: str = "",
    failure_message: str = "",
    cancel_reason: str = "",
):
    """Record a payment's final outcome once, and apply it to the order."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("order").get(order_id=order_id)
        if payment.is_settled:  # a concurrent delivery settled it first
            if status == Payment.Status.SUCCEEDED and payment.status != status:
                # Only possible if the order was given up on while the gateway
                # was charging: money taken for a cancelled order.
                logger.error(
                    "payment for order #%s succeeded at the gateway (%s) after it was "
                    "settled %s; the charge needs a refund",
                    order_id, charge_id, payment.status,
                )  # fmt: skip
            return payment
        payment.status = status
        payment.gateway_charge_id = charge_id
        payment.failure_message = failure_message[:300]
        payment.card_number = ""  # no longer needed once the outcome is known
        payment.settled_at = timezone.now()
        payment.save()
        order = payment.order
        if status == Payment.Status.SUCCEEDED:
            order.status = Order.Status.PAID
            order.save(update_fields=["status", "updated_at"])
            publish_on_commit(after_payment(order.pk), reference=f"order:{order.public_id}")
            emit_order_event(order=order, event_type="order.paid")
        else:
            reason = f"Payment declined: {failure_message}"
            if status == Payment.Status.FAILED:
                reason = cancel_reason or "Payment could not be completed."
            cancel_order(order=order, reason=reason)
            _publish_payment_failed_email(order)
            emit_order_event(order=order, event_type="order.payment_failed")
            emit_order_event(order=order, event_type="order.cancelled")
    return payment


def _publish_payment_failed_email(order: Order) -> None:
    from notifications.tasks import send_payment_failed_email

    publish_on_commit(send_payment_failed_email.si(order.pk), reference=f"order:{order.public_id}")
