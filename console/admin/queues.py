from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from jobs.errors import DeadLetterError, QueuePauseError
from jobs.models import BulkRequeue, PausedQueue, QueueEvent, TaskAttempt
from jobs.services import queue_pausing
from jobs.services.bulk_requeue import cancel_bulk_requeue

from ..forms import QueuePauseForm


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the system: operators read them, never edit them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PausedQueue)
class QueuesAdmin(ReadOnlyAdmin):
    """Every queue, whether it is paused, who consumes it, and buttons to pause or resume."""

    def has_pause_permission(self, request):
        return request.user.has_perm("jobs.pause_queue")

    def get_urls(self):
        def route(action, view):
            return path(
                f"<str:queue>/{action}/",
                self.admin_site.admin_view(require_POST(view)),
                name=f"jobs_pausedqueue_{action}",
            )

        return [
            route("pause", self.pause_view),
            route("resume", self.resume_view),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        paused = queue_pausing.paused_queues()
        try:
            consuming = queue_pausing.workers_consuming()
            workers_error = ""
        except Exception as error:  # the broker is down: still show what the database knows
            consuming, workers_error = {}, f"Workers could not be asked: {error}"
        queues = [
            {"name": name, "paused": paused.get(name), "workers": consuming.get(name, [])}
            for name in settings.ORDERLY_QUEUES
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Queues",
            "queues": queues,
            "workers_error": workers_error,
            "can_pause": self.has_pause_permission(request),
            "form": QueuePauseForm(),
            "events": QueueEvent.objects.select_related("actor")[:20],
        }
        return TemplateResponse(request, "admin/console/queues.html", context)

    def pause_view(self, request, queue):
        if not self.has_pause_permission(request):
            raise PermissionDenied
        form = QueuePauseForm(request.POST)
        note = form.cleaned_data["note"] if form.is_valid() else ""
        try:
            change = queue_pausing.pause_queue(queue=queue, actor=request.user, note=note)
        except QueuePauseError as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            if change.workers:
                self.message_user(
                    request, f"Queue {queue} paused on {change.message}.", messages.SUCCESS
                )
            else:
                self.message_user(
                    request,
                    f"No worker serves queue {queue} right now. It is recorded as paused: "
                    "a worker that starts will not consume it until it is resumed.",
                    messages.WARNING,
                )
        return HttpResponseRedirect(reverse("admin:jobs_pausedqueue_changelist"))

    def resume_view(self, request, queue):
        if not self.has_pause_permission(request):
            raise PermissionDenied
        try:
            change = queue_pausing.resume_queue(queue=queue, actor=request.user)
        except QueuePauseError as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            where = f"on {change.message}" if change.workers else "(no worker answered yet)"
            self.message_user(request, f"Queue {queue} resumed {where}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:jobs_pausedqueue_changelist"))


@admin.register(QueueEvent)
class QueueEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "queue", "action", "actor", "detail")
    list_filter = ("queue", "action")


@admin.register(TaskAttempt)
class TaskAttemptAdmin(ReadOnlyAdmin):
    list_display = (
        "started_at", "task_name", "outcome", "retries", "queue", "worker", "duration_ms",
        "business_key",
    )  # fmt: skip
    list_filter = ("outcome", "task_name", "queue")
    search_fields = ("task_id", "business_key")
    readonly_fields = ("flower_link",)

    @admin.display(description="Task in Flower")
    def flower_link(self, attempt):
        url = f"{settings.FLOWER_URL}/task/{attempt.task_id}"
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, url)


@admin.register(BulkRequeue)
class BulkRequeueAdmin(ReadOnlyAdmin):
    """Progress of bulk requeues; a running one can be cancelled."""

    list_display = (
        "id", "status", "progress", "requeued", "refused", "rate_per_second", "started_by",
        "created_at", "finished_at",
    )  # fmt: skip
    list_filter = ("status",)
    change_form_template = "admin/console/bulkrequeue/change_form.html"
    fields = (
        "status", "progress", "requeued", "refused", "refusal_list", "rate_per_second",
        "filter_description", "cancel_requested", "started_by", "created_at", "first_step_at",
        "finished_at",
    )  # fmt: skip
    readonly_fields = fields

    @admin.display(description="Progress")
    def progress(self, bulk):
        return f"{bulk.position} of {bulk.total}"

    @admin.display(description="Refusals (first 50)")
    def refusal_list(self, bulk):
        if not bulk.refusals:
            return "-"
        items = format_html_join("", "<li>{}</li>", ((reason,) for reason in bulk.refusals))
        return format_html("<ul>{}</ul>", items)

    def get_urls(self):
        cancel = path(
            "<int:bulk_id>/cancel/",
            self.admin_site.admin_view(require_POST(self.cancel_view)),
            name="jobs_bulkrequeue_cancel",
        )
        return [cancel, *super().get_urls()]

    def cancel_view(self, request, bulk_id):
        if not request.user.has_perm("jobs.requeue_deadletter"):
            raise PermissionDenied
        try:
            cancel_bulk_requeue(bulk_id=bulk_id)
        except (DeadLetterError, BulkRequeue.DoesNotExist) as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(request, f"Bulk requeue #{bulk_id} stops before its next requeue.")
        return HttpResponseRedirect(reverse("admin:jobs_bulkrequeue_change", args=[bulk_id]))
