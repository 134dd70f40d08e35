"""Invoices: render once, store under a deterministic key, record once."""

import logging

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from jobs.requeue import RequeueRefused
from orders.events import emit_order_event
from orders.models import Order

from ..errors import InvoiceRenderingFailed
from ..invoice_pdf import invoice_number, render_invoice
from ..models import Invoice, InvoiceFailure

logger = logging.getLogger(__name__)


def invoice_key(order: Order) -> str:
    return f"invoices/{order.public_id}.pdf"


def generate_invoice(*, order_id: int) -> Invoice | None:
    """Render and store the invoice of a paid order; None for unpaid orders.

    Idempotent: an existing invoice is returned as is. Two concurrent runs
    both write the same key (the second overwrites the first with the same
    bytes) and only one Invoice row can exist (one-to-one on the order).

    Rendering that raises is a bug or data the renderer cannot handle, not
    an outage: it records an InvoiceFailure (the order page says so) and
    raises InvoiceRenderingFailed, which is permanent. Storage errors
    propagate for the task to classify.
    """
    order = Order.objects.select_related("payment").prefetch_related("items").get(pk=order_id)
    if order.status != Order.Status.PAID:
        logger.info("order %s is %s: no invoice", order.number, order.status)
        return None
    existing = Invoice.objects.filter(order=order).first()
    if existing:
        return existing
    try:
        pdf = render_invoice(order)
    except Exception as exc:  # any failure to render: see the docstring
        record_invoice_failure(order=order, reason=f"{type(exc).__name__}: {exc}")
        raise InvoiceRenderingFailed(f"invoice of {order.number} could not be rendered") from exc
    key = default_storage.save(invoice_key(order), ContentFile(pdf))
    try:
        with transaction.atomic():
            invoice = Invoice.objects.create(
                order=order, number=invoice_number(order), file=key, size_bytes=len(pdf)
            )
            emit_order_event(order=order, event_type="order.invoiced")
            InvoiceFailure.objects.filter(order=order).delete()  # a requeue that succeeded
    except IntegrityError:
        return Invoice.objects.get(order=order)
    logger.info("invoice %s stored at %s (%d bytes)", invoice.number, key, len(pdf))
    return invoice


def reopen_for_requeue(args: list, kwargs: dict) -> tuple[list, dict]:
    """Requeue preparer of generate_invoice_pdf: reopen a paid order's failed invoice.

    Runs in the requeue's transaction (jobs.requeue). The order page stops
    saying the invoice could not be made and shows it being made again.
    """
    order = Order.objects.get(pk=args[0])
    if order.status != Order.Status.PAID:
        raise RequeueRefused(
            f"Order {order.number} is {order.get_status_display().lower()}: it gets no invoice."
        )
    invoice = Invoice.objects.filter(order=order).first()
    if invoice:
        raise RequeueRefused(
            f"Invoice {invoice.number} of order {order.number} is already stored; "
            "there is nothing to redo."
        )
    InvoiceFailure.objects.filter(order=order).delete()
    return args, kwargs


def record_invoice_failure(*, order: Order, reason: str) -> InvoiceFailure:
    """Note that this order's invoice could not be rendered; one row per order, latest reason."""
    failure, _ = InvoiceFailure.objects.update_or_create(
        order=order, defaults={"reason": reason[:300]}
    )
    logger.error("invoice of order %s could not be rendered: %s", order.number, reason)
    return failure
