"""The order pipeline: one canvas, published once per order."""

from celery import chain, group
from celery.canvas import Signature


def order_pipeline(order_id: int) -> Signature:
    """Charge first; then e-mail, invoice (and later webhooks) in parallel.

    Immutable signatures (.si): each step loads what it needs by id, so no
    step depends on the previous one's return value.
    """
    from notifications.tasks import send_order_confirmation
    from reports.tasks import generate_invoice_pdf

    from .tasks import charge_payment

    return chain(
        charge_payment.si(order_id),
        group(send_order_confirmation.si(order_id), generate_invoice_pdf.si(order_id)),
    )
