"""Admin's Task results page, at the same cost with a million results as with a hundred.

django-celery-results' own page runs, on every load, two COUNT(*)s of the
whole table, a DISTINCT over every result's day (date_hierarchy) and one
DISTINCT per filter column (status, task name, periodic task name, worker):
about 1 s with 300,000 results, growing with the table (bench/RESULTS.md,
"How cost grows"). This page takes its filter choices from what is known
without reading the table (Celery's states, the registered tasks, the
periodic schedules), drops the day drill-down and the worker filter, and
shows an estimated total for the unfiltered list.
"""

from celery import states
from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property
from django_celery_beat.models import PeriodicTask
from django_celery_results.admin import TaskResultAdmin
from django_celery_results.models import TaskResult

from .selectors import registered_task_names

# Below this many rows (by the planner's estimate) the exact count is cheap.
EXACT_COUNT_BELOW = 10_000


class EstimatedCountPaginator(Paginator):
    """An unfiltered PostgreSQL table is counted from the planner's statistics."""

    @cached_property
    def count(self):
        query = getattr(self.object_list, "query", None)
        if connection.vendor == "postgresql" and query is not None and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [self.object_list.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] >= EXACT_COUNT_BELOW:
                return row[0]
        return super().count


class ChoicesFilter(admin.SimpleListFilter):
    """Filter on a field with choices known without reading the table."""

    field = ""

    def choices_known(self) -> list[str]:
        raise NotImplementedError

    def lookups(self, request, model_admin):
        known = self.choices_known()
        if self.value() and self.value() not in known:  # e.g. a schedule deleted since
            known = [*known, self.value()]
        return [(value, value) for value in known]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.field: self.value()})
        return queryset


class StatusFilter(ChoicesFilter):
    title, parameter_name, field = "status", "status", "status"

    def choices_known(self):
        return sorted(states.ALL_STATES)


class TaskNameFilter(ChoicesFilter):
    title, parameter_name, field = "task name", "task_name", "task_name"

    def choices_known(self):
        return registered_task_names()


class PeriodicTaskNameFilter(ChoicesFilter):
    title, parameter_name, field = "periodic task name", "periodic_task_name", "periodic_task_name"

    def choices_known(self):
        return list(PeriodicTask.objects.order_by("name").values_list("name", flat=True))


class BoundedTaskResultAdmin(TaskResultAdmin):
    date_hierarchy = None
    list_filter = (StatusFilter, "date_done", PeriodicTaskNameFilter, TaskNameFilter)
    show_full_result_count = False
    paginator = EstimatedCountPaginator


def install() -> None:
    """Replace django-celery-results' registration of TaskResult (call from jobs.admin)."""
    if admin.site.is_registered(TaskResult):
        admin.site.unregister(TaskResult)
    admin.site.register(TaskResult, BoundedTaskResultAdmin)
