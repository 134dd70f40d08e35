"""The tasks the reports app publishes, by name (services never import tasks)."""

from celery import chord, signature
from celery.canvas import Signature

START_SALES_REPORT = "reports.start_sales_report"
COMPUTE_SALES_REPORT_PART = "reports.compute_sales_report_part"
COMPILE_SALES_REPORT = "reports.compile_sales_report"
MARK_SALES_REPORT_FAILED = "reports.mark_sales_report_failed"
SEND_SALES_REPORT_EMAIL = "notifications.send_sales_report_email"

TASK_NAMES = (
    START_SALES_REPORT,
    COMPUTE_SALES_REPORT_PART,
    COMPILE_SALES_REPORT,
    MARK_SALES_REPORT_FAILED,
    SEND_SALES_REPORT_EMAIL,
)


def start_sales_report(report_id: int) -> Signature:
    return signature(START_SALES_REPORT, args=(report_id,), immutable=True)


def sales_report_chord(report_id: int, hour_starts: list[str]) -> Signature:
    """One part per hour in parallel, then one compile step; a failure marks the report failed."""
    parts = [
        signature(COMPUTE_SALES_REPORT_PART, args=(report_id, hour), immutable=True)
        for hour in hour_starts
    ]
    compile_step = signature(COMPILE_SALES_REPORT, args=(report_id,), immutable=True)
    # Called if a part or the compile step fails for good.
    compile_step.link_error(signature(MARK_SALES_REPORT_FAILED, args=(report_id,), immutable=True))
    return chord(parts, compile_step)


def sales_report_email(report_id: int) -> Signature:
    return signature(SEND_SALES_REPORT_EMAIL, args=(report_id,), immutable=True)
