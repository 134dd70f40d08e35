"""Requeue preparers of the orders app's tasks (jobs.requeue), registered in apps.py."""

from jobs.requeue import RequeueRefused

from .models import Payment


def charge_again(args: list, kwargs: dict) -> tuple[list, dict]:
    """Requeue preparer of charge_payment: only a payment the gateway has not settled.

    The requeued charge sends the payment's own idempotency key, so the
    gateway answers with what became of the first attempt (or charges once
    if nothing reached it): the requeue reconciles, it never charges twice.
    A payment settled since (paid, declined, refunded, confirmed uncharged)
    has nothing left to redo.
    """
    payment = Payment.objects.select_related("order").get(order_id=args[0])
    if payment.is_settled:
        raise RequeueRefused(
            f"The payment of order {payment.order.number} is already settled "
            f"({payment.get_status_display().lower()}); there is nothing to charge."
        )
    return args, kwargs
