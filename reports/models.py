from django.conf import settings
from django.db import models


class Invoice(models.Model):
    """The invoice PDF of a paid order, stored under a key derived from the order."""

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="invoice")
    number = models.CharField(max_length=40, unique=True)
    file = models.FileField(max_length=200)
    size_bytes = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.number


class InvoiceFailure(models.Model):
    """An order whose invoice could not be rendered (a bug or bad data, not a storage outage).

    Written once, with the task's dead letter; the order page reads it to say
    the invoice could not be produced and stop waiting. Deleted when a
    requeued task renders the invoice after all.
    """

    order = models.OneToOneField(
        "orders.Order", on_delete=models.CASCADE, related_name="invoice_failure"
    )
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Invoice of {self.order} failed: {self.reason}"


class SalesReport(models.Model):
    """Sales of paid orders placed in a date range, as CSV and PDF files.

    Built by a Celery chord (reports.services.sales): one part per hour of the range,
    computed in parallel, then one task compiles the files. Progress is the
    number of parts done out of `parts_total`.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to start"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped: the same dates were already running"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Daily schedule"
        STAFF = "staff", "Requested in admin"

    date_from = models.DateField()
    date_to = models.DateField(help_text="Inclusive.")
    trigger = models.CharField(max_length=20, choices=Trigger.choices, default=Trigger.STAFF)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    parts_total = models.PositiveIntegerField(help_text="Hours in the range, one part each.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    orders_count = models.PositiveIntegerField(null=True, blank=True)
    units = models.PositiveIntegerField(null=True, blank=True)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    csv_file = models.FileField(max_length=200, blank=True)
    pdf_file = models.FileField(max_length=200, blank=True)
    message = models.TextField(blank=True, help_text="Why it failed or was skipped.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(date_from__lte=models.F("date_to")),
                name="sales_report_range_ordered",
            ),
            # The daily schedule makes one report per day, however often it fires.
            models.UniqueConstraint(
                fields=["date_from", "date_to"],
                condition=models.Q(trigger="schedule"),
                name="sales_report_scheduled_once",
            ),
        ]

    def __str__(self):
        return f"Sales report #{self.pk} {self.period_label}"

    @property
    def period_label(self) -> str:
        if self.date_from == self.date_to:
            return f"{self.date_from:%Y-%m-%d}"
        return f"{self.date_from:%Y-%m-%d} to {self.date_to:%Y-%m-%d}"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.RUNNING)


class SalesReportPart(models.Model):
    """One hour's aggregates of a sales report, written by one chord header task."""

    report = models.ForeignKey(SalesReport, on_delete=models.CASCADE, related_name="parts")
    hour_start = models.DateTimeField()
    orders_count = models.PositiveIntegerField()
    units = models.PositiveIntegerField()
    revenue = models.DecimalField(max_digits=14, decimal_places=2)
    # {"Coffee": {"units": 3, "revenue": "37.50"}, ...}; amounts as strings.
    by_category = models.JSONField(default=dict)

    class Meta:
        ordering = ["hour_start"]
        constraints = [
            models.UniqueConstraint(fields=["report", "hour_start"], name="sales_part_hour_once"),
        ]

    def __str__(self):
        return f"{self.report} {self.hour_start:%Y-%m-%d %H:00}"
