"""The tasks the orders app publishes, by name, and the order pipeline built from them.

Services publish signatures by task name and never import a tasks module,
so imports run one way (see docs/architecture.md, Layers): the e-mail and invoice
tasks live in apps above orders. A test checks that every name here is a
registered task.

Each stage is published through the outbox in the same transaction as the
change that makes it due, so a broker outage can delay a step but never
lose it:

1. `order_pipeline`, written by the checkout transaction: charge the card.
2. `after_payment`, written by the transaction that records a successful
   charge: e-mail and invoice, in parallel.
3. `payment_failed_notice`, written by the transaction that gives up on a
   payment: tell the shopper.
4. `payment_refunded_notice`, written by the transaction that records the
   refund of a charge that landed on a cancelled order (orders.reconciliation).
5. `confirm_payment`, written (several, with growing countdowns) by the
   transaction that leaves an order "confirming payment": ask the gateway again.

(A Celery chain would publish stage 2 from the worker as a callback with no
durable record; a Redis restart at that moment lost it in our chaos tests.)
Signatures are immutable: each step loads what it needs by id.
"""

from celery import group, signature
from celery.canvas import Signature

CHARGE_PAYMENT = "orders.charge_payment"
CONFIRM_PAYMENT = "orders.confirm_payment"
SEND_ORDER_CONFIRMATION = "notifications.send_order_confirmation"
SEND_PAYMENT_FAILED_EMAIL = "notifications.send_payment_failed_email"
SEND_PAYMENT_REFUNDED_EMAIL = "notifications.send_payment_refunded_email"
GENERATE_INVOICE = "reports.generate_invoice_pdf"

TASK_NAMES = (
    CHARGE_PAYMENT,
    CONFIRM_PAYMENT,
    SEND_ORDER_CONFIRMATION,
    SEND_PAYMENT_FAILED_EMAIL,
    SEND_PAYMENT_REFUNDED_EMAIL,
    GENERATE_INVOICE,
)


def order_pipeline(order_id: int) -> Signature:
    """Stage 1, published on checkout commit."""
    return signature(CHARGE_PAYMENT, args=(order_id,), immutable=True)


def after_payment(order_id: int) -> Signature:
    """Stage 2, published when the payment succeeds."""
    return group(
        signature(SEND_ORDER_CONFIRMATION, args=(order_id,), immutable=True),
        signature(GENERATE_INVOICE, args=(order_id,), immutable=True),
    )


def payment_failed_notice(order_id: int) -> Signature:
    """Published when the payment is given up on: the shopper is told."""
    return signature(SEND_PAYMENT_FAILED_EMAIL, args=(order_id,), immutable=True)


def payment_refunded_notice(order_id: int) -> Signature:
    """Published when a charge taken for a cancelled order is refunded: the shopper is told."""
    return signature(SEND_PAYMENT_REFUNDED_EMAIL, args=(order_id,), immutable=True)


def confirm_payment(order_id: int, *, countdown: float) -> Signature:
    """Ask the gateway again about a payment left "confirming", `countdown` seconds from now.

    The countdown stays below the broker's visibility timeout (jobs.base.check_countdown).
    """
    return signature(CONFIRM_PAYMENT, args=(order_id,), countdown=countdown, immutable=True)
