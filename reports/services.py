"""Invoices: render once, store under a deterministic key, record once."""

import logging

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from notifications.services import emit_order_event
from orders.models import Order

from .invoice_pdf import invoice_number, render_invoice
from .models import Invoice

logger = logging.getLogger(__name__)


def invoice_key(order: Order) -> str:
    return f"invoices/{order.public_id}.pdf"


def generate_invoice(*, order_id: int) -> Invoice | None:
    """Render and store the invoice of a paid order; None for unpaid orders.

    Idempotent: an existing invoice is returned as is. Two concurrent runs
    both write the same key (the second overwrites the first with the same
    bytes) and only one Invoice row can exist (one-to-one on the order).
    """
    order = Order.objects.select_related("payment").prefetch_related("items").get(pk=order_id)
    if order.status != Order.Status.PAID:
        logger.info("order %s is %s: no invoice", order.public_id, order.status)
        return None
    existing = Invoice.objects.filter(order=order).first()
    if existing:
        return existing
    pdf = render_invoice(order)
    key = default_storage.save(invoice_key(order), ContentFile(pdf))
    try:
        with transaction.atomic():
            invoice = Invoice.objects.create(
                order=order, number=invoice_number(order), file=key, size_bytes=len(pdf)
            )
            emit_order_event(order=order, event_type="order.invoiced")
    except IntegrityError:
        return Invoice.objects.get(order=order)
    logger.info("invoice %s stored at %s (%d bytes)", invoice.number, key, len(pdf))
    return invoice
