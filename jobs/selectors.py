"""Reads of the task machinery's records that take more than one line of ORM."""

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

from celery import current_app
from django.apps import apps
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from .models import DeadLetter


def registered_task(name: str):
    """The task registered under `name`, or None.

    A web process imports task modules only when something asks, so an
    unknown name triggers Celery's autodiscovery first (from the Django
    apps; `import_default_modules` would also rerun Django's set-up and
    system checks, ~100 ms, and reset a worker's log handlers).
    """
    if name not in current_app.tasks:
        current_app.autodiscover_tasks(force=True)
    return current_app.tasks.get(name)


def registered_task_names() -> list[str]:
    """Every task of this code base (autodiscovered as registered_task does), sorted."""
    current_app.autodiscover_tasks(force=True)
    return sorted(name for name in current_app.tasks if not name.startswith("celery."))


def business_object_links(dead_letters: Iterable[DeadLetter]) -> dict[int, tuple[str, str]]:
    """{dead letter pk: (admin URL, label)} of the objects their tasks worked on that still exist.

    The task names its model (`business_object=` on the task), so this app
    links to any app's object without importing it. One query per model,
    whatever the number of dead letters (an admin page lists 100).
    """
    wanted = defaultdict(dict)  # model label -> {dead letter pk: key}
    for dead_letter in dead_letters:
        label = getattr(registered_task(dead_letter.task_name), "business_object", None)
        key = dead_letter.reference.partition(":")[2]
        if label and key:
            wanted[label][dead_letter.pk] = key
    links = {}
    for label, keys in wanted.items():
        model = apps.get_model(label)
        field = "public_id" if hasattr(model, "public_id") else "pk"
        valid = {pk: key for pk, key in keys.items() if _valid_key(key, field)}
        objects = model.objects.filter(**{f"{field}__in": set(valid.values())})
        found = {str(getattr(obj, field)): obj for obj in objects}
        meta = model._meta
        for pk, key in valid.items():
            obj = found.get(key)
            if obj is None:
                continue  # gone
            try:
                url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            except NoReverseMatch:
                continue  # a model without an admin page
            links[pk] = (url, str(obj))
    return links


def business_object_link(dead_letter: DeadLetter) -> tuple[str, str] | None:
    """(admin URL, label) of the object one dead letter's task worked on, if it still exists."""
    return business_object_links([dead_letter]).get(dead_letter.pk)


def _valid_key(key: str, field: str) -> bool:
    try:
        uuid.UUID(key) if field == "public_id" else int(key)
    except ValueError:
        return False  # a malformed reference links nowhere
    return True


# The windows of the triage view, newest first: label and length.
TRIAGE_WINDOWS = (
    ("hour", timedelta(hours=1)),
    ("day", timedelta(days=1)),
    ("week", timedelta(weeks=1)),
)


def dead_letter_groups(queryset: QuerySet[DeadLetter] | None = None) -> list[dict]:
    """Dead letters counted by task and exception class, over each triage window.

    Each group: task_name, exception_class, total, one count per window
    ("hour", "day", "week"), newest_at and the newest example's id and
    message. Busiest groups of the last week first.
    """
    if queryset is None:
        queryset = DeadLetter.objects.all()
    now = timezone.now()
    newest = queryset.filter(
        task_name=OuterRef("task_name"), exception_class=OuterRef("exception_class")
    ).order_by("-last_failed_at", "-pk")
    windows = {
        label: Count("pk", filter=Q(last_failed_at__gte=now - length))
        for label, length in TRIAGE_WINDOWS
    }
    return list(
        queryset.values("task_name", "exception_class")
        .annotate(
            total=Count("pk"),
            newest_at=Max("last_failed_at"),
            newest_id=Subquery(newest.values("pk")[:1]),
            newest_message=Subquery(newest.values("exception_message")[:1]),
            **windows,
        )
        .order_by("-week", "-total", "task_name", "exception_class")
    )


def tasks_in(queryset: QuerySet[DeadLetter]) -> list[dict]:
    """How many dead letters of each task a queryset holds (the dry run's table)."""
    return list(
        queryset.order_by()
        .values("task_name")
        .annotate(count=Count("pk"))
        .order_by("-count", "task_name")
    )


def exact_dead_letter_match(term: str) -> Q | None:
    """An indexed lookup for a search that names one thing, or None to search text.

    Operators paste a task id, an order's UUID or a reference ("order:<uuid>").
    Those hit the unique task_id and the indexed reference exactly, where the
    admin's substring search scans every row (ILIKE '%...%').
    """
    term = term.strip()
    if not term or " " in term:
        return None
    if _valid_key(term, "public_id"):  # a UUID: a task id, or an order's public id
        return Q(task_id=term) | Q(reference=f"order:{term}")
    if ":" in term:  # a reference such as "order:<uuid>" or "user:42"
        return Q(reference=term)
    return None


def without_recent_work(task_name: str, model_label: str, references: dict, *, since) -> list:
    """The keys of `references` ({pk: dead-letter reference}) whose step shows no work.

    No work: no attempt of `task_name` on that object since `since` (a run,
    or a retry waiting for its countdown, writes one), and no dead letter of
    it still open or requeued (an operator owns that one). For the overdue
    sweep (jobs.services.overdue).
    """
    from .models import TaskAttempt

    if not references:
        return []
    prefix = f"{model_label.lower()}:"
    busy = {
        key.removeprefix(prefix)
        for key in TaskAttempt.objects.filter(
            task_name=task_name,
            started_at__gte=since,
            business_key__in=[f"{prefix}{pk}" for pk in references],
        ).values_list("business_key", flat=True)
    }
    owned = set(
        DeadLetter.objects.filter(
            task_name=task_name,
            reference__in=list(references.values()),
            status__in=[DeadLetter.Status.OPEN, DeadLetter.Status.REQUEUED],
        ).values_list("reference", flat=True)
    )
    return [pk for pk, ref in references.items() if str(pk) not in busy and ref not in owned]
