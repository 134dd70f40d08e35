from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import connections

from jobs.errors import TemporaryError

from . import reconciliation


@shared_task(
    bind=True,
    name="orders.charge_payment",
    business_object="orders.Order",
    ignore_result=True,  # its jobs.TaskAttempt rows and the Payment are the record
    soft_time_limit=30,
    time_limit=45,
)
def charge_payment(self, order_id: int) -> str:
    """Charge the order's card once (idempotent; see reconciliation.charge_payment).

    Gateway timeouts, connection errors and 5xx are retried with backoff; a
    decline is final. When retries run out the gateway is asked what
    happened to the charge before anything is given up: a charge it took
    settles the payment; an order with no clear answer waits in
    "Confirming payment" (and the task fails, leaving a dead letter).

    An attempt that overruns its soft time limit (a gateway slower than the
    request timeouts allow, or a starved worker) is one more temporary
    failure, not a dead letter: the retry sends the same Idempotency-Key, so
    a charge the overrun attempt did take is replayed, never taken twice.
    """
    try:
        try:
            return reconciliation.charge_payment(order_id=order_id)
        except SoftTimeLimitExceeded as exc:
            # The limit may have cut a database exchange short: the retry's
            # bookkeeping needs connections that are not mid-protocol.
            connections.close_all()
            raise TemporaryError(f"the attempt overran its soft time limit: {exc}") from exc
    except TemporaryError as exc:
        if self.request.retries >= self.max_retries:
            reason = f"Gave up after {self.request.retries + 1} attempts: {exc}"
            status = reconciliation.reconcile_payment(order_id=order_id, reason=reason)
            if status == "succeeded":
                return status
        raise


@shared_task(
    name="orders.confirm_payment",
    business_object="orders.Order",
    ignore_result=True,  # each lookup's outcome is a PaymentEvent on the order
    soft_time_limit=30,
    time_limit=45,
)
def confirm_payment(order_id: int) -> str:
    """Ask the gateway again about an order "confirming payment" (reconciliation.confirm_payment).

    Published through the outbox with growing countdowns when the order
    starts confirming. Not retried: a gateway that still gives no clear
    answer leaves the order confirming for the next lookup or the periodic
    job. Returns the payment's status, "unknown", or why there was nothing to do.
    """
    return reconciliation.confirm_payment(order_id=order_id)


@shared_task(name="orders.cancel_abandoned_orders", soft_time_limit=120, time_limit=150)
def cancel_abandoned_orders() -> dict:
    """Settle orders left unpaid too long, asking the gateway first (beat, every 5 minutes).

    Also asks again about orders "confirming payment" and retries refunds
    that are due. Idempotent; see reconciliation.reconcile_stale_payments.
    Routed to the default queue.
    """
    return reconciliation.reconcile_stale_payments()
