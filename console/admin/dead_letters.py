from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from jobs.admin import DeadLetterAdmin
from jobs.errors import DeadLetterError
from jobs.models import DeadLetter
from jobs.selectors import TRIAGE_WINDOWS, dead_letter_groups, tasks_in
from jobs.services.bulk_requeue import resolve_matching, start_bulk_requeue
from jobs.services.dead_letters import requeue_preview

from ..forms import BulkRequeueForm, ResolveMatchingForm
from ..webhook_failures import webhook_failure

# How many of the dry run's refusals the page lists (all are counted).
REFUSALS_SHOWN = 20


class ConsoleDeadLetterAdmin(DeadLetterAdmin):
    """Dead letters, plus triage by cause and actions on everything a filter matches."""

    change_list_template = "admin/console/deadletter/change_list.html"
    list_display = (
        "id",
        "status",
        "task",
        "exception_name",
        "what_failed",
        "tries",
        "business_object",
        "failed_at",
    )
    list_display_links = ("id", "task")
    readonly_fields = (*DeadLetterAdmin.readonly_fields, "webhook_failure")

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and webhook_failure(obj) is not None:
            fieldsets.insert(1, ("Webhook", {"fields": ("webhook_failure",)}))
        return fieldsets

    @admin.display(description="Task", ordering="task_name")
    def task(self, dead_letter):
        # Break long dotted names at their dots, not in the middle of a word.
        return mark_safe("<wbr>.".join(escape(part) for part in dead_letter.task_name.split(".")))  # noqa: S308 (each part is escaped)

    @admin.display(description="Last failed", ordering="last_failed_at")
    def failed_at(self, dead_letter):
        return timezone.localtime(dead_letter.last_failed_at).strftime("%Y-%m-%d %H:%M")

    @admin.display(description="Tries", ordering="attempts")
    def tries(self, dead_letter):
        return dead_letter.attempts

    @admin.display(description="Business object", ordering="reference")
    def business_object(self, dead_letter):
        kind, _, key = dead_letter.reference.partition(":")
        if kind == "webhookdelivery" and key.isdigit():
            url = reverse("admin:notifications_webhookdelivery_change", args=[int(key)])
            return format_html('<a href="{}">webhook delivery #{}</a>', url, key)
        return super().business_object(dead_letter)

    @admin.display(description="Exception", ordering="exception_class")
    def exception_name(self, dead_letter):
        name = dead_letter.exception_class.rpartition(".")[2]
        return format_html('<span title="{}">{}</span>', dead_letter.exception_class, name)

    @admin.display(description="Message")
    def what_failed(self, dead_letter):
        # Only webhook rows cost a query (at most a page of them).
        failure = (
            webhook_failure(dead_letter)
            if dead_letter.reference.startswith("webhookdelivery:")
            else None
        )
        text = failure.summary if failure else dead_letter.exception_message
        return text if len(text) <= 140 else text[:137] + "..."

    @admin.display(description="Webhook failure")
    def webhook_failure(self, dead_letter):
        failure = webhook_failure(dead_letter)
        if failure is None:
            return "-"
        url = reverse("admin:notifications_webhookdelivery_change", args=[failure.delivery.pk])
        return format_html(
            'Endpoint <a href="{}">{}</a>{}<br>Last status code: {}<br>Reason: {}',
            url, failure.endpoint_url, "" if failure.endpoint_active else " (disabled)",
            failure.status_code or "no HTTP answer", failure.reason,
        )  # fmt: skip

    def get_urls(self):
        def route(suffix, view):
            name = f"jobs_deadletter_{suffix.replace('-', '_')}"
            return path(f"{suffix}/", self.admin_site.admin_view(view), name=name)

        return [
            route("triage", self.triage_view),
            route("requeue-matching", self.requeue_matching_view),
            route("resolve-matching", self.resolve_matching_view),
            *super().get_urls(),
        ]

    def triage_view(self, request):
        """Dead letters grouped by task and exception class, over the last hour, day and week."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        status = request.GET.get("status", DeadLetter.Status.OPEN)
        queryset = DeadLetter.objects.all()
        if status in DeadLetter.Status.values:
            queryset = queryset.filter(status=status)
        context = {
            **self._context(request, "Dead letters by cause"),
            "groups": dead_letter_groups(queryset),
            "windows": [label for label, _ in TRIAGE_WINDOWS],
            "status": status,
            "statuses": DeadLetter.Status.choices,
        }
        return TemplateResponse(request, "admin/console/deadletter/triage.html", context)

    def requeue_matching_view(self, request):
        """Dry run (GET) then a paced background requeue (POST) of the open matches."""

        def requeue(ids, data):
            bulk = start_bulk_requeue(
                dead_letter_ids=ids,
                rate_per_second=data["rate_per_second"],
                actor=request.user,
                filter_description=request.GET.urlencode(),
            )
            self.message_user(
                request,
                f"Requeueing {bulk.total} dead letter(s) at {bulk.rate_per_second:g}/s "
                f"in the background (bulk requeue #{bulk.pk}).",
                messages.SUCCESS,
            )
            if not request.user.has_perm("jobs.view_bulkrequeue"):
                return self._back_to_list(request)  # the progress page is not theirs to see
            return HttpResponseRedirect(reverse("admin:jobs_bulkrequeue_change", args=[bulk.pk]))

        return self._act_on_matching(
            request,
            allowed=self.has_requeue_permission(request),
            narrow=lambda matching: matching.filter(status=DeadLetter.Status.OPEN),
            form_class=BulkRequeueForm,
            act=requeue,
            title="Requeue all matching this filter",
            template="requeue_matching",
            preview=requeue_preview,
        )

    def resolve_matching_view(self, request):
        """Dry run (GET) then resolving (POST) every unresolved match, with a note."""

        def resolve(ids, data):
            count = resolve_matching(dead_letter_ids=ids, actor=request.user, note=data["note"])
            self.message_user(request, f"{count} dead letter(s) resolved.", messages.SUCCESS)
            return self._back_to_list(request)

        return self._act_on_matching(
            request,
            allowed=self.has_resolve_permission(request),
            narrow=lambda matching: matching.exclude(status=DeadLetter.Status.RESOLVED),
            form_class=ResolveMatchingForm,
            act=resolve,
            title="Resolve all matching this filter",
            template="resolve_matching",
        )

    def _act_on_matching(
        self, request, *, allowed, narrow, form_class, act, title, template, preview=None
    ):
        """The shape of both bulk actions: permission, filter, dry run page, confirmed POST.

        `preview(ids) -> (will run, refusals)` says, for the dry run, what the
        action would really do now (a requeue runs each preparer and rolls back).
        """
        if not allowed:
            raise PermissionDenied
        matching = self._matching(request)
        if matching is None:
            return self._back_to_list(request)
        matching = narrow(matching)
        form = form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                return act(list(matching.values_list("pk", flat=True)), form.cleaned_data)
            except DeadLetterError as error:  # e.g. nothing matches: say so, do nothing
                self.message_user(request, str(error), messages.WARNING)
                return self._back_to_list(request)
        context = {
            **self._context(request, title),
            "form": form,
            "count": matching.count(),
            "tasks": tasks_in(matching),
        }
        if preview is not None:
            will_run, refusals = preview(matching.values_list("pk", flat=True))
            context.update(will_run=will_run, refusals=refusals[:REFUSALS_SHOWN],
                           refused=len(refusals))  # fmt: skip
        return TemplateResponse(request, f"admin/console/deadletter/{template}.html", context)

    def _matching(self, request):
        """The dead letters the changelist shows for this query string, or None if invalid."""
        try:
            return self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:
            self.message_user(
                request, "That filter is not valid; nothing was done.", messages.ERROR
            )
            return None

    def _back_to_list(self, request):
        url = reverse("admin:jobs_deadletter_changelist")
        query = request.GET.urlencode()
        return HttpResponseRedirect(f"{url}?{query}" if query else url)

    def _context(self, request, title):
        query = request.GET.urlencode()
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "query": query,
            "filters": [(key, value) for key, value in request.GET.items()],
            "changelist_url": reverse("admin:jobs_deadletter_changelist")
            + (f"?{query}" if query else ""),
        }


admin.site.unregister(DeadLetter)
admin.site.register(DeadLetter, ConsoleDeadLetterAdmin)
