"""The order's background steps, and where each is published from.

Each stage is published through the outbox in the same transaction as the
change that makes it due, so a broker outage can delay a step but never
lose it:

1. `order_pipeline`, written by the checkout transaction: charge the card.
2. `after_payment`, written by the transaction that records a successful
   charge: e-mail and invoice, in parallel.

(A Celery chain would publish stage 2 from the worker as a callback with no
durable record; a Redis restart at that moment lost it in our chaos tests.)
"""

from celery import group
from celery.canvas import Signature


def order_pipeline(order_id: int) -> Signature:
    """Stage 1, published on checkout commit."""
    from .tasks import charge_payment

    return charge_payment.si(order_id)


def after_payment(order_id: int) -> Signature:
    """Stage 2, published when the payment succeeds. Immutable signatures:
    each step loads what it needs by id."""
    from notifications.tasks import send_order_confirmation
    from reports.tasks import generate_invoice_pdf

    return group(send_order_confirmation.si(order_id), generate_invoice_pdf.si(order_id))
