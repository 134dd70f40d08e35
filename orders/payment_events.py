"""The payment's history for operators: one PaymentEvent and one log line per outcome."""

import logging

from .models import Order, PaymentEvent

logger = logging.getLogger("orders.payments")


def record_payment_event(
    *, order: Order, kind: str, outcome: str, detail: str = ""
) -> PaymentEvent:
    """Record what happened to `order`'s payment; logged with the order reference.

    Written in the caller's transaction when there is one, so an outcome
    and its record commit together.
    """
    event = PaymentEvent.objects.create(order=order, kind=kind, outcome=outcome, detail=detail)
    log = (
        logger.warning
        if outcome in ("unknown", "temporary_error", "refund_failed")
        else logger.info
    )
    log(
        "order:%s (%s) payment %s: %s%s",
        order.public_id,
        order.number,
        kind,
        outcome,
        f" ({detail})" if detail else "",
    )
    return event
