from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task

from jobs.errors import PermanentError, TemporaryError

from . import services


@shared_task(
    name="reports.generate_invoice_pdf",
    business_object="orders.Order",
    soft_time_limit=60,
    time_limit=90,
)
def generate_invoice_pdf(order_id: int) -> str | None:
    """Render and store a paid order's invoice once; storage errors are retried."""
    try:
        invoice = services.generate_invoice(order_id=order_id)
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
        error = TemporaryError if status >= 500 or status == 429 else PermanentError
        raise error(f"invoice storage: {exc!r}") from exc
    except (OSError, BotoCoreError) as exc:
        raise TemporaryError(f"invoice storage: {exc!r}") from exc
    return invoice.file.name if invoice else None
