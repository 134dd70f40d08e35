from datetime import date, datetime

from celery import shared_task

from jobs.requeue import NothingDone
from jobs.transport import transport_errors

from .services import invoices, sales


# Results only where read (docs/decisions/0006): the invoice's pipeline task stores none,
# its jobs.TaskAttempt rows (the order's timeline) and the Invoice row are the record.
# Periodic jobs keep theirs ("Run a job now and find its result", docs/periodic-work.md).
@shared_task(
    name="reports.generate_invoice_pdf",
    business_object="orders.Order",
    ignore_result=True,
    soft_time_limit=60,
    time_limit=90,
)
def generate_invoice_pdf(order_id: int) -> str | NothingDone:
    """Render and store a paid order's invoice once; storage errors are retried.

    A rendering failure (InvoiceRenderingFailed) is permanent: one dead letter.
    """
    with transport_errors("invoice storage"):
        invoice = invoices.generate_invoice(order_id=order_id)
    return invoice.file.name if invoice else NothingDone("the order is not paid: no invoice")


# --- The sales report (see reports.services.sales for the whole flow) -------------------------


@shared_task(name="reports.generate_daily_sales_report", soft_time_limit=30, time_limit=45)
def generate_daily_sales_report(day: str | None = None) -> dict:
    """Start the sales report of `day` (ISO date; yesterday by default), once per day.

    Run by beat at 02:00. Idempotent: a second run for the same day starts
    nothing unless the first failed. Returns the report's id and status.
    """
    report = sales.request_daily_sales_report(day=date.fromisoformat(day) if day else None)
    return {"report": report.pk, "period": report.period_label, "status": report.status}


@shared_task(
    name="reports.start_sales_report",
    business_object="reports.SalesReport",
    ignore_result=True,
    soft_time_limit=30,
    time_limit=45,
)
def start_sales_report(report_id: int) -> None:
    """Take the report's date-range lock and publish its chord (skipped if the dates are busy)."""
    sales.start_sales_report(report_id=report_id)


@shared_task(
    name="reports.compute_sales_report_part",
    business_object="reports.SalesReport",
    soft_time_limit=60,
    time_limit=90,
)
def compute_sales_report_part(report_id: int, hour_start: str) -> int:
    """Aggregate one hour of paid orders into a stored part; idempotent.

    A chord header task: its result must be stored for the chord to count
    it, so it returns the part's id (small) rather than ignoring results.
    """
    part = sales.compute_sales_report_part(
        report_id=report_id, hour_start=datetime.fromisoformat(hour_start)
    )
    return part.pk


# The chord body stores no result: the SalesReport row (status, files) is what
# operators read. The header parts above must store theirs for the chord to count them.
@shared_task(
    name="reports.compile_sales_report",
    business_object="reports.SalesReport",
    ignore_result=True,
    soft_time_limit=120,
    time_limit=150,
)
def compile_sales_report(report_id: int) -> dict:
    """The chord body: write the CSV and PDF, e-mail staff; storage errors are retried."""
    with transport_errors("sales report storage"):
        report = sales.compile_sales_report(report_id=report_id)
    return {"report": report.pk, "status": report.status, "pdf": report.pdf_file.name}


@shared_task(
    name="reports.mark_sales_report_failed",
    business_object="reports.SalesReport",
    ignore_result=True,
    soft_time_limit=30,
    time_limit=45,
)
def mark_sales_report_failed(report_id: int) -> None:
    """Error callback of the report chord: mark the report failed, free its dates."""
    sales.fail_sales_report(
        report_id=report_id,
        reason="A part or the compile step failed for good; see Dead letters for why.",
    )
