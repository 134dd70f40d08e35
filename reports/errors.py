from jobs.errors import PermanentError


class ReportError(Exception):
    """Base of the reports app's domain errors; admin shows the message."""


class InvalidReportRange(ReportError):
    pass


class ReportAlreadyRunning(ReportError):
    def __init__(self, report):
        super().__init__(
            f"Report #{report.pk} for {report.period_label} is still running; "
            "wait for it to finish."
        )
        self.report = report


class InvoiceRenderingFailed(PermanentError):
    """Rendering an invoice raised: a bug or data it cannot handle. Not retried."""
