from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self):
        from jobs import requeue
        from jobs.services import overdue as jobs_overdue

        from . import overdue
        from .services import invoices, sales

        jobs_overdue.register_finder("reports.invoices", overdue.overdue_invoices)
        requeue.register_preparer("reports.generate_invoice_pdf", invoices.reopen_for_requeue)
        for step in ("start_sales_report", "compute_sales_report_part", "compile_sales_report",
                     "mark_sales_report_failed"):  # fmt: skip
            requeue.register_preparer(f"reports.{step}", sales.refuse_requeue_of_part)
