"""Periodic tasks in admin, with each schedule's last run, next run and a "late" flag."""

from django.contrib import admin
from django.utils.html import format_html
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

from .schedules import schedule_status


class ScheduleHealthAdmin(PeriodicTaskAdmin):
    """django-celery-beat's admin plus when each schedule ran, runs next, and if it is late."""

    list_display = ("name", "enabled", "scheduler", "last_run", "next_run", "timing", "one_off")

    def _status(self, obj):
        return schedule_status(obj) if obj.enabled else None

    @admin.display(description="Last run", ordering="last_run_at")
    def last_run(self, obj):
        return obj.last_run_at or "never"

    @admin.display(description="Next run")
    def next_run(self, obj):
        status = self._status(obj)
        return status.next_run_at if status and status.next_run_at else "-"

    @admin.display(description="Timing")
    def timing(self, obj):
        status = self._status(obj)
        if status is None:
            return "disabled"
        if status.late:
            return format_html(
                '<strong class="orderly-late">late</strong> by {}s',
                int(status.lateness_seconds),
            )
        return "on time"


admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, ScheduleHealthAdmin)
