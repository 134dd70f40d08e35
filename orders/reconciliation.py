"""Reconciliation: nobody gives up on a payment without asking the gateway.

A charge request can reach the gateway and take the money although the
worker that sent it never heard the answer (a timeout, a killed process).
So every path that gives up on a payment (the abandoned-order job, a charge
whose retries ran out, a charge delivered again for an order cancelled
meanwhile) first asks the gateway what happened to the payment's
idempotency key, and acts only on a clear answer:

- charged: the payment succeeds and the pipeline continues; if the order
  was already cancelled (its stock released), the charge is refunded and
  the shopper is told exactly that;
- declined: the order is cancelled as for any decline;
- nothing charged, as the gateway confirms: the order is cancelled and the
  shopper is told nothing was charged;
- anything else (unreachable, still processing the key, an unreadable
  answer, one that contradicts our record): "unknown". The order shows
  "Confirming payment" and the gateway is asked again within seconds, then
  less and less often (confirm_payment, scheduled when the order starts
  confirming); the periodic job keeps asking after that. Nothing is
  cancelled on a guess.

Every outcome is a PaymentEvent on the order (admin) and a log line with
the order reference.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs.errors import PermanentError, TemporaryError
from jobs.requeue import NothingDone
from jobs.services.outbox import publish_on_commit

from . import gateway, services, steps
from .lock_objects import lock_payment
from .models import Order, Payment, PaymentEvent
from .payment_events import record_payment_event

logger = logging.getLogger(__name__)

UNKNOWN = "unknown"

# Seconds after an order starts "confirming payment" at which the gateway is
# asked again, times ORDERLY_TIMER_SCALE: a charge the gateway took shows as
# paid within seconds, a gateway that stays unclear is asked less and less
# often, and after the last one the periodic job (every 5 minutes) asks.
# Each is a broker countdown, which a worker holds unacknowledged until it is
# due: waiting and running must end within the visibility timeout (else Redis
# delivers it again), so each is capped at half of it.
CONFIRMATION_LOOKUP_SECONDS = (2, 5, 10, 20, 40, 80, 120)
# Why a confirmation lookup settles an order the gateway confirms it never
# charged (the order's cancel reason, which the shopper reads).
NOTHING_CHARGED = "The payment did not go through: the card gateway confirms nothing was charged."


def charge_payment(*, order_id: int) -> str:
    """The charge task's service: charge once, never charge a payment given up on.

    A payment already failed (its order cancelled) is not charged again; the
    gateway is asked whether an earlier attempt charged it after all, and
    such a charge is refunded. Returns the payment's status. Raises
    TemporaryError for the task to retry (see services.charge_order).
    """
    payment = services.charge_order(order_id=order_id)
    if payment.status == Payment.Status.FAILED:
        return reconcile_payment(order_id=order_id, reason="A charge was delivered again.")
    if payment.status == Payment.Status.REFUND_DUE:
        return refund_payment(order_id=order_id)
    return payment.status


def reconcile_payment(*, order_id: int, reason: str, cancel_reason: str = "") -> str:
    """Settle a payment that may have reached the gateway by asking the gateway first.

    `reason` is why we ask (on the payment's events) and, unless
    `cancel_reason` is given, what the shopper is told if nothing was
    charged and the order is cancelled. Returns the payment's status afterwards, or
    UNKNOWN when the gateway gave no clear answer: then the order is
    "Confirming payment" and must be asked about again later. Idempotent.
    """
    payment = Payment.objects.select_related("order").get(order_id=order_id)
    order = payment.order
    if payment.status in (
        Payment.Status.SUCCEEDED,
        Payment.Status.DECLINED,
        Payment.Status.REFUNDED,
    ):
        return payment.status
    if payment.status == Payment.Status.REFUND_DUE:
        return refund_payment(order_id=order_id)
    if payment.attempts == 0:
        # Attempts are counted (and committed) before a request leaves, so
        # no charge request was ever sent: nothing can have been charged.
        return _settle_nothing_charged(
            order,
            attempts_seen=0,
            reason=reason,
            cancel_reason=cancel_reason,
            evidence="no charge request was ever sent",
        )
    attempts_seen = payment.attempts
    try:
        found = gateway.find_charge(idempotency_key=payment.idempotency_key)
        problem = _contradiction(payment, order, found)
    except (TemporaryError, PermanentError) as exc:
        found, problem = None, str(exc)
    if problem:
        record_payment_event(
            order=order,
            kind=PaymentEvent.Kind.LOOKUP,
            outcome=UNKNOWN,
            detail=f"{reason} {problem}",
        )
        return _await_confirmation(order, why=problem)
    record_payment_event(
        order=order,
        kind=PaymentEvent.Kind.LOOKUP,
        outcome=found.outcome,
        detail=f"{reason} Gateway charge {found.charge_id or '-'}.",
    )
    if found.outcome == gateway.ChargeLookup.CHARGED:
        settled = services._settle(order_id, Payment.Status.SUCCEEDED, charge_id=found.charge_id)
        if settled.status == Payment.Status.REFUND_DUE:
            return refund_payment(order_id=order_id)
        return settled.status
    if found.outcome == gateway.ChargeLookup.DECLINED:
        return services._settle(
            order_id, Payment.Status.DECLINED, failure_message="Your card was declined."
        ).status
    return _settle_nothing_charged(
        order,
        attempts_seen=attempts_seen,
        reason=reason,
        cancel_reason=cancel_reason,
        evidence="the gateway confirms no charge with this key",
    )


def refund_payment(*, order_id: int) -> str:
    """Refund a charge that landed on a cancelled order, once, and tell the shopper.

    The refund has its own idempotency key, so a retry after a lost answer
    gets the same refund back. If the gateway cannot be reached the payment
    stays "refund due" and the periodic job tries again. Returns the
    payment's status.
    """
    payment = Payment.objects.select_related("order").get(order_id=order_id)
    if payment.status != Payment.Status.REFUND_DUE:
        return payment.status
    try:
        result = gateway.refund(
            charge_id=payment.gateway_charge_id, idempotency_key=payment.refund_idempotency_key
        )
    except (TemporaryError, PermanentError) as exc:
        record_payment_event(
            order=payment.order,
            kind=PaymentEvent.Kind.REFUND,
            outcome="refund_failed",
            detail=str(exc)[:500],
        )
        return payment.status
    with transaction.atomic():
        payment = lock_payment(order_id=order_id, with_order=True)
        if payment.status != Payment.Status.REFUND_DUE:
            return payment.status
        payment.status = Payment.Status.REFUNDED
        payment.gateway_refund_id = result.refund_id
        payment.save(update_fields=["status", "gateway_refund_id"])
        order = payment.order
        record_payment_event(
            order=order,
            kind=PaymentEvent.Kind.REFUND,
            outcome="refunded",
            detail=f"Charge {payment.gateway_charge_id} refunded ({result.refund_id}).",
        )
        publish_on_commit(
            steps.payment_refunded_notice(order.pk),
            reference=f"order:{order.public_id}",
        )
    return payment.status


def reconcile_stale_payments(*, older_than: timedelta | None = None, limit: int = 200) -> dict:
    """The periodic job: settle orders unpaid too long, by asking the gateway first.

    Takes orders awaiting payment for longer than `older_than` (default
    settings.ORDERLY_ABANDONED_ORDER_SECONDS), every order "confirming
    payment", and every refund still due. Returns a count per outcome.
    """
    if older_than is None:
        older_than = timedelta(seconds=settings.ORDERLY_ABANDONED_ORDER_SECONDS)
    cutoff = timezone.now() - older_than
    abandoned = Order.objects.filter(
        status=Order.Status.PENDING_PAYMENT,
        created_at__lt=cutoff,
        payment__status=Payment.Status.PENDING,
    )
    confirming = Order.objects.filter(status=Order.Status.CONFIRMING_PAYMENT)
    refunds = Order.objects.filter(payment__status=Payment.Status.REFUND_DUE)
    order_ids = sorted(
        set((abandoned | confirming | refunds).values_list("pk", flat=True).order_by("pk")[:limit])
    )
    seconds = older_than.total_seconds()
    limit_text = f"{seconds / 60:g} minutes" if seconds >= 60 else f"{seconds:g} seconds"
    outcomes: dict[str, int] = {}
    for order_id in order_ids:
        outcome = reconcile_payment(order_id=order_id, reason=f"Not paid within {limit_text}.")
        outcomes[str(outcome)] = outcomes.get(str(outcome), 0) + 1
    if outcomes:
        logger.info("abandoned-order job: %s", outcomes)
    return outcomes


def _contradiction(payment: Payment, order: Order, found: gateway.ChargeLookup) -> str:
    """Why the gateway's answer cannot be trusted against our record ("" if it can)."""
    if found.outcome == gateway.ChargeLookup.NONE:
        return ""
    if found.amount != payment.amount or found.currency != payment.currency:
        return (
            f"The gateway's charge {found.charge_id} is for {found.amount} {found.currency}, "
            f"our record for {payment.amount} {payment.currency}."
        )
    if found.reference and found.reference != str(order.public_id):
        return f"The gateway's charge {found.charge_id} is for another order ({found.reference})."
    if found.refunded:
        return f"The gateway's charge {found.charge_id} was refunded, which we never asked for."
    return ""


def _settle_nothing_charged(
    order: Order, *, attempts_seen: int, reason: str, evidence: str, cancel_reason: str = ""
) -> str:
    """Cancel an order whose payment is confirmed uncharged, unless a new attempt started."""
    cancel_reason = cancel_reason or reason
    in_flight_since = timezone.now() - timedelta(seconds=settings.ORDERLY_CHARGE_IN_FLIGHT_SECONDS)
    with transaction.atomic():
        payment = lock_payment(order_id=order.pk)
        if payment.status != Payment.Status.PENDING:
            return payment.status
        if payment.attempts != attempts_seen or (
            payment.last_attempt_at and payment.last_attempt_at > in_flight_since
        ):
            why = "a charge attempt may be in flight"
            record_payment_event(
                order=order,
                kind=PaymentEvent.Kind.LOOKUP,
                outcome=UNKNOWN,
                detail=f"{reason} Not cancelling: {why}.",
            )
            return _await_confirmation(order, why=why)
        settled = services._settle(
            order.pk,
            Payment.Status.FAILED,
            failure_message=cancel_reason,
            cancel_reason=cancel_reason,
        )
        record_payment_event(
            order=order,
            kind=PaymentEvent.Kind.SETTLED,
            outcome="not_charged",
            detail=f"Cancelled: {evidence}.",
        )
    return settled.status


def confirm_payment(*, order_id: int) -> str:
    """The confirmation lookup's service: ask the gateway again about an order confirming payment.

    Scheduled by _await_confirmation a few seconds apart; an order that is
    no longer confirming (paid, cancelled, refunded meanwhile) is left alone
    and the gateway is not asked. Otherwise as reconcile_payment, whose
    status (or UNKNOWN) it returns. Idempotent.
    """
    status = Order.objects.filter(pk=order_id).values_list("status", flat=True).first()
    if status != Order.Status.CONFIRMING_PAYMENT:
        return NothingDone(f"nothing to do: the order is {status or 'gone'}")
    return reconcile_payment(
        order_id=order_id, reason="Asked again while confirming.", cancel_reason=NOTHING_CHARGED
    )


def _await_confirmation(order: Order, *, why: str) -> str:
    """Leave the order waiting for a clear answer: "Confirming payment", asked again soon.

    The order that starts confirming gets its confirmation lookups
    (CONFIRMATION_LOOKUP_SECONDS) through the outbox, in the transaction
    that marks it, so they are scheduled once per wait and never lost. One
    already confirming is not scheduled again: its lookups are on their way,
    or done and the periodic job asks.
    """
    with transaction.atomic():
        updated = Order.objects.filter(pk=order.pk, status=Order.Status.PENDING_PAYMENT).update(
            status=Order.Status.CONFIRMING_PAYMENT, updated_at=timezone.now()
        )
        if updated:
            for countdown in confirmation_countdowns():
                publish_on_commit(
                    steps.confirm_payment(order.pk, countdown=countdown),
                    reference=f"order:{order.public_id}",
                )
    if updated:
        logger.warning("order %s is confirming payment: %s", order.number, why)
    return UNKNOWN


def confirmation_countdowns() -> list[float]:
    """CONFIRMATION_LOOKUP_SECONDS as countdowns: scaled, within half the visibility timeout."""
    cap = settings.CELERY_VISIBILITY_TIMEOUT / 2
    scaled = (seconds * settings.ORDERLY_TIMER_SCALE for seconds in CONFIRMATION_LOOKUP_SECONDS)
    return sorted({min(seconds, cap) for seconds in scaled})
