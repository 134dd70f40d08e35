from celery import shared_task

from jobs.errors import TemporaryError

from . import services


@shared_task(
    bind=True,
    name="orders.charge_payment",
    business_object="orders.Order",
    soft_time_limit=30,
    time_limit=45,
)
def charge_payment(self, order_id: int) -> str:
    """Charge the order's card once (idempotent; see services.charge_order).

    Gateway timeouts, connection errors and 5xx are retried with backoff; a
    decline is final. When retries run out the order is cancelled and its
    stock released before the task fails.
    """
    try:
        payment = services.charge_order(order_id=order_id)
    except TemporaryError as exc:
        if self.request.retries >= self.max_retries:
            services.fail_payment(order_id=order_id, reason=f"Gave up: {exc}")
        raise
    return payment.status


@shared_task(name="orders.cancel_abandoned_orders", soft_time_limit=120, time_limit=150)
def cancel_abandoned_orders() -> dict:
    """Cancel orders left unpaid too long and release their stock (beat, every 5 minutes).

    Idempotent, and safe against a charge in flight: see
    services.cancel_abandoned_order. Routed to the default queue.
    """
    return services.cancel_abandoned_orders()
