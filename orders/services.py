"""Business operations on orders: placing them and settling their payment."""

import logging
from collections.abc import Mapping
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inventory.services import release_stock, reserve_stock
from jobs.errors import TemporaryError
from jobs.services import publish_on_commit

from . import gateway
from .errors import EmptyCart, PaymentDeclined
from .models import Order, OrderItem, Payment
from .pipeline import after_payment, order_pipeline

logger = logging.getLogger(__name__)


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
        payment.save(update_fields=["attempts"])
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


def _settle(order_id: int, status: str, *, charge_id: str = "", failure_message: str = ""):
    """Record a payment's final outcome once, and apply it to the order."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("order").get(order_id=order_id)
        if payment.is_settled:  # a concurrent delivery settled it first
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
        else:
            reason = f"Payment declined: {failure_message}"
            if status == Payment.Status.FAILED:
                reason = "Payment could not be completed."
            cancel_order(order=order, reason=reason)
            _publish_payment_failed_email(order)
    return payment


def _publish_payment_failed_email(order: Order) -> None:
    from notifications.tasks import send_payment_failed_email

    publish_on_commit(send_payment_failed_email.si(order.pk), reference=f"order:{order.public_id}")
