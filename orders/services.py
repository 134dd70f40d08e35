"""Business operations on orders: placing them and settling their payment.

Giving up on a payment goes through orders.reconciliation, which asks the
gateway first.
"""

import logging
import uuid
from collections.abc import Mapping
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.services import release_stock, reserve_stock
from jobs.errors import TemporaryError
from jobs.services.outbox import publish_on_commit

from . import gateway, steps
from .errors import CannotPayAgain, EmptyCart, PaymentDeclined, PaymentMethodUnusable
from .events import emit_order_event
from .lock_objects import lock_payment
from .models import Order, OrderItem, Payment, PaymentEvent
from .payment_events import record_payment_event
from .selectors import pay_again_until

logger = logging.getLogger(__name__)


REUSED_TOKEN = "This card entry was already used. Please enter your card again."  # noqa: S105


def confirm_payment_method(*, token: str) -> gateway.PaymentMethod:
    """Ask the gateway what the shopper's card token is, before anything is reserved.

    Returns its brand and last four digits as the gateway reports them.
    Raises PaymentMethodUnusable (nothing done) for a token that is unknown,
    another shop's, expired, used at the gateway or already on an order here;
    TemporaryError if the gateway cannot be reached.
    """
    if Payment.objects.filter(payment_method=token).exists():
        raise PaymentMethodUnusable(REUSED_TOKEN)
    return gateway.retrieve_payment_method(token=token)


def place_order(
    *,
    quantities: Mapping[int, int],
    email: str,
    full_name: str,
    shipping_address: str,
    payment_method: gateway.PaymentMethod,
    customer=None,
) -> Order:
    """Create a paid-for-later order from {product id: quantity} in one transaction.

    `payment_method` is the card token as the gateway confirmed it
    (confirm_payment_method). Locks the products in primary-key order,
    refuses unknown products and quantities over stock (UnknownProduct /
    OutOfStock, nothing changed) and a token already on another order
    (PaymentMethodUnusable, nothing changed), decrements stock, snapshots
    names and prices, and records the pipeline in the outbox so it is
    published once the transaction commits.
    """
    if not quantities:
        raise EmptyCart()
    try:
        return _place_order(
            quantities=quantities,
            email=email,
            full_name=full_name,
            shipping_address=shipping_address,
            payment_method=payment_method,
            customer=customer,
        )
    except IntegrityError:
        # A second submit of the same checkout, a moment behind the first.
        if Payment.objects.filter(payment_method=payment_method.token).exists():
            raise PaymentMethodUnusable(REUSED_TOKEN) from None
        raise


def _place_order(
    *, quantities, email, full_name, shipping_address, payment_method, customer
) -> Order:
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
            payment_method=payment_method.token,
            card_last4=payment_method.last4,
            card_brand=payment_method.brand,
        )
        publish_on_commit(steps.order_pipeline(order.pk), reference=f"order:{order.public_id}")
        emit_order_event(order=order, event_type="order.created")
    logger.info("order %s placed (order:%s, total %s)", order.number, order.public_id, total)
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
        payment = lock_payment(order_id=order_id, with_order=True)
        if payment.is_settled:
            return payment
        payment.attempts += 1
        payment.last_attempt_at = timezone.now()
        payment.save(update_fields=["attempts", "last_attempt_at"])
        attempt = f"Attempt {payment.attempts}"
        _attempt_event(payment, "sent", f"{attempt} sent to the gateway.")
    try:
        result = gateway.charge(
            amount=payment.amount,
            currency=payment.currency,
            payment_method=payment.payment_method,
            idempotency_key=payment.idempotency_key,
            reference=str(Order.objects.values_list("public_id", flat=True).get(pk=order_id)),
        )
    except PaymentDeclined as exc:
        _attempt_event(payment, "declined", f"{attempt}: {exc}")
        return _settle(order_id, Payment.Status.DECLINED, failure_message=str(exc))
    except TemporaryError as exc:
        _attempt_event(payment, "temporary_error", f"{attempt}: {exc}")
        Payment.objects.filter(pk=payment.pk, status=Payment.Status.PENDING).update(
            failure_message=str(exc)[:300]
        )
        raise
    _attempt_event(payment, "charged", f"{attempt}: charge {result.charge_id}.")
    return _settle(order_id, Payment.Status.SUCCEEDED, charge_id=result.charge_id)


def _attempt_event(payment: Payment, outcome: str, detail: str) -> None:
    record_payment_event(
        order=payment.order, kind=PaymentEvent.Kind.ATTEMPT, outcome=outcome, detail=detail[:500]
    )


def cancel_order(*, order: Order, reason: str) -> None:
    """Cancel an unpaid order and give its stock back. Must run in a transaction."""
    if order.status == Order.Status.CANCELLED:
        return
    release_stock(quantities={item.product_id: item.quantity for item in order.items.all()})
    order.status = Order.Status.CANCELLED
    order.cancel_reason = reason[:200]
    order.save(update_fields=["status", "cancel_reason", "updated_at"])


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
        payment = lock_payment(order_id=order_id, with_order=True)
        if payment.is_settled:  # a concurrent delivery settled it first
            if status == Payment.Status.SUCCEEDED and payment.status == Payment.Status.FAILED:
                # The order was given up on while the gateway was charging:
                # money taken for a cancelled order, whose stock is gone. It is
                # refunded (orders.reconciliation.refund_payment).
                payment.status = Payment.Status.REFUND_DUE
                payment.gateway_charge_id = charge_id
                payment.save(update_fields=["status", "gateway_charge_id"])
                record_payment_event(
                    order=payment.order,
                    kind=PaymentEvent.Kind.SETTLED,
                    outcome="refund_due",
                    detail=f"Charge {charge_id} landed on a cancelled order.",
                )
            return payment
        payment.status = status
        payment.gateway_charge_id = charge_id
        payment.failure_message = failure_message[:300]
        payment.settled_at = timezone.now()
        payment.save()
        order = payment.order
        if status == Payment.Status.SUCCEEDED:
            order.status = Order.Status.PAID
            order.save(update_fields=["status", "updated_at"])
            publish_on_commit(steps.after_payment(order.pk), reference=f"order:{order.public_id}")
            emit_order_event(order=order, event_type="order.paid")
        else:
            reason = f"Payment declined: {failure_message}"
            if status == Payment.Status.FAILED:
                reason = cancel_reason or "Payment could not be completed."
            cancel_order(order=order, reason=reason)
            publish_on_commit(
                steps.payment_failed_notice(order.pk), reference=f"order:{order.public_id}"
            )
            emit_order_event(order=order, event_type="order.payment_failed")
            emit_order_event(order=order, event_type="order.cancelled")
    return payment


def pay_again(*, order_id: int, payment_method: gateway.PaymentMethod) -> Payment:
    """Charge a declined order again, with another card's token. The order is kept.

    `payment_method` is the new card's token as the gateway confirmed it
    (confirm_payment_method).

    Under the payment's row lock: refuses (CannotPayAgain) unless the card
    was declined within the pay-again window (selectors.pay_again_until), so
    a paid order, a second click while the first charge runs, or an order
    given up on is never charged again. Reserves the order's items again
    (locked in primary-key order, as at checkout; UnknownProduct or
    OutOfStock and nothing changed if one is gone), puts the order back to
    awaiting payment, and gives the payment a new idempotency key, so the
    gateway sees a new charge rather than replaying the declined one. The
    charge is published through the outbox on commit, as at checkout.
    """
    with transaction.atomic():
        payment = lock_payment(order_id=order_id, with_order=True)
        order = payment.order
        if payment.status == Payment.Status.SUCCEEDED:
            raise CannotPayAgain("This order is already paid.")
        if payment.status == Payment.Status.PENDING:
            raise CannotPayAgain("This order's payment is already in progress.")
        if pay_again_until(payment) is None:
            raise CannotPayAgain(
                "This order can no longer be paid: its items went back on sale. "
                "Please place a new order."
            )
        reserve_stock(quantities={item.product_id: item.quantity for item in order.items.all()})
        payment.idempotency_key = f"order-{order.public_id}-charge-{uuid.uuid4().hex[:12]}"
        payment.status = Payment.Status.PENDING
        payment.payment_method = payment_method.token
        payment.card_last4 = payment_method.last4
        payment.card_brand = payment_method.brand
        payment.attempts = 0
        payment.last_attempt_at = None
        payment.failure_message = ""
        payment.gateway_charge_id = ""
        payment.settled_at = None
        payment.save()
        order.status = Order.Status.PENDING_PAYMENT
        order.cancel_reason = ""
        order.save(update_fields=["status", "cancel_reason", "updated_at"])
        publish_on_commit(steps.order_pipeline(order.pk), reference=f"order:{order.public_id}")
    logger.info("order %s: paying again with another card", order.number)
    return payment
