from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db.models import Count
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from .errors import ReportError
from .models import Invoice, InvoiceFailure, SalesReport
from .services import sales


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ("number", "order", "size_bytes", "created_at")
    search_fields = ("number", "order__public_id")
    readonly_fields = ("order", "number", "file", "size_bytes", "created_at")


@admin.register(InvoiceFailure)
class InvoiceFailureAdmin(admin.ModelAdmin):
    """Invoices that could not be rendered; the dead letter has the traceback and the requeue."""

    list_display = ("order", "reason", "created_at")
    search_fields = ("order__public_id", "reason")
    readonly_fields = ("order", "reason", "created_at")


class SalesReportRequestForm(forms.Form):
    date_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(
        label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )


@admin.register(SalesReport)
class SalesReportAdmin(admin.ModelAdmin):
    """Reports are made by the service (the form below, or the daily schedule), never edited."""

    list_display = (
        "id",
        "period_label",
        "status",
        "progress",
        "orders_count",
        "revenue_display",
        "downloads",
        "trigger",
        "requested_by",
        "created_at",
        "finished_at",
    )
    list_display_links = ("id", "period_label")
    list_filter = ("status", "trigger", "date_from")
    date_hierarchy = "date_from"
    fields = (
        ("date_from", "date_to"),
        "status",
        "progress",
        "message",
        ("orders_count", "units", "revenue_display"),
        "downloads",
        ("trigger", "requested_by"),
        ("created_at", "started_at", "finished_at"),
    )
    readonly_fields = fields[0] + (
        "status",
        "progress",
        "message",
        "orders_count",
        "units",
        "revenue_display",
        "downloads",
        "trigger",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("requested_by")
            .annotate(parts_done=Count("parts"))
        )

    # --- who may do what -------------------------------------------------------------

    def has_add_permission(self, request):
        return False  # the "Generate a report" form makes reports, through the service

    def has_change_permission(self, request, obj=None):
        return False

    def can_generate(self, request) -> bool:
        return request.user.has_perm("reports.add_salesreport")

    # --- columns ---------------------------------------------------------------------

    @admin.display(description="Period", ordering="date_from")
    def period_label(self, report):
        return report.period_label

    @admin.display(description="Progress")
    def progress(self, report):
        done = getattr(report, "parts_done", None)
        if done is None:
            done = report.parts.count()
        return format_html(
            '<progress value="{}" max="{}"></progress> {} of {} hours',
            done,
            report.parts_total,
            done,
            report.parts_total,
        )

    @admin.display(description="Revenue", ordering="revenue")
    def revenue_display(self, report):
        return f"{report.revenue} {report.currency}" if report.revenue is not None else "—"

    @admin.display(description="Files")
    def downloads(self, report):
        links = [
            (reverse("admin:reports_salesreport_download", args=[report.pk, kind]), label)
            for kind, label, field in (
                ("csv", "CSV", report.csv_file),
                ("pdf", "PDF", report.pdf_file),
            )
            if field
        ]
        if not links:
            return "—"
        return format_html_join(" · ", '<a href="{}">{}</a>', links)

    # --- pages -----------------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "generate/",
                self.admin_site.admin_view(self.generate_view),
                name="reports_salesreport_generate",
            ),
            path(
                "<int:report_id>/download/<str:kind>/",
                self.admin_site.admin_view(self.download_view),
                name="reports_salesreport_download",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_generate": self.can_generate(request),
            # The page reloads itself while a report is being built.
            "reports_running": SalesReport.objects.filter(
                status__in=[SalesReport.Status.PENDING, SalesReport.Status.RUNNING]
            ).exists(),
        }
        return super().changelist_view(request, extra_context)

    def generate_view(self, request):
        """A form for a date range; the service makes the report and starts it after commit."""
        if not self.can_generate(request):
            raise PermissionDenied
        today = timezone.localdate()
        form = SalesReportRequestForm(
            request.POST or None, initial={"date_from": today, "date_to": today}
        )
        if request.method == "POST" and form.is_valid():
            try:
                report = sales.request_sales_report(
                    date_from=form.cleaned_data["date_from"],
                    date_to=form.cleaned_data["date_to"],
                    requested_by=request.user,
                )
            except ReportError as error:
                form.add_error(None, str(error))
            else:
                self.message_user(
                    request,
                    f"{report} requested. This page shows its progress until it is done.",
                    messages.SUCCESS,
                )
                return redirect("admin:reports_salesreport_change", report.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Generate a sales report",
            "form": form,
        }
        return TemplateResponse(request, "admin/reports/salesreport/generate.html", context)

    def download_view(self, request, report_id: int, kind: str):
        report = get_object_or_404(SalesReport, pk=report_id)
        if not self.has_view_permission(request, report):
            raise PermissionDenied
        field = {"csv": report.csv_file, "pdf": report.pdf_file}.get(kind)
        if not field:
            raise Http404("This report has no such file (yet).")
        return FileResponse(
            default_storage.open(field.name, "rb"),
            as_attachment=True,
            filename=field.name.rsplit("/", 1)[-1],
            content_type="text/csv" if kind == "csv" else "application/pdf",
        )
