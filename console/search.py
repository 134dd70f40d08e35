"""Finding an order from what an operator has in hand: its number, its UUID or a task id."""

import re
import uuid

from django.db.models import Q
from django_celery_results.models import TaskResult

from jobs.models import DeadLetter, TaskAttempt
from jobs.selectors import registered_task
from notifications.models import WebhookDelivery
from orders.models import Order

_ORDER_NUMBER = re.compile(r"ORD-?0*(\d+)", re.IGNORECASE)


def order_ids_matching(term: str) -> set[int]:
    """Primary keys of the orders `term` names: "ORD-000131", a public UUID or a task id."""
    term = term.strip()
    if not term:
        return set()
    number = _ORDER_NUMBER.fullmatch(term)
    if number:
        return set(Order.objects.filter(pk=int(number.group(1))).values_list("pk", flat=True))
    ids = set()
    if _is_uuid(term):
        ids |= set(Order.objects.filter(public_id=term).values_list("pk", flat=True))
    return ids | _orders_of_task(term)


def _is_uuid(term: str) -> bool:
    try:
        uuid.UUID(term)
    except ValueError:
        return False
    return True


def _orders_of_task(task_id: str) -> set[int]:
    """Orders a task (a run, a dead letter, a requeue of one, or a result) worked on."""
    keys = set(TaskAttempt.objects.filter(task_id=task_id).values_list("business_key", flat=True))
    references = set(
        DeadLetter.objects.filter(Q(task_id=task_id) | Q(requeued_task_id=task_id)).values_list(
            "reference", flat=True
        )
    )
    result = (
        TaskResult.objects.filter(task_id=task_id).values_list("task_name", "task_args").first()
    )
    order_ids: set[int] = set()
    delivery_ids: set[int] = set()
    for key in keys:
        kind, _, value = key.partition(":")
        if kind == "orders.order" and value.isdigit():
            order_ids.add(int(value))
        elif kind == "notifications.webhookdelivery" and value.isdigit():
            delivery_ids.add(int(value))
    public_ids = set()
    for reference in references:
        kind, _, value = reference.partition(":")
        if kind == "order" and _is_uuid(value):
            public_ids.add(value)
        elif kind == "webhookdelivery" and value.isdigit():
            delivery_ids.add(int(value))
    if not (order_ids or delivery_ids or public_ids) and result is not None:
        order_ids |= _order_argument(*result)
    query = Q(pk__in=order_ids) | Q(public_id__in=public_ids)
    query |= Q(pk__in=WebhookDelivery.objects.filter(pk__in=delivery_ids).values("order_id"))
    return set(Order.objects.filter(query).values_list("pk", flat=True))


def _order_argument(task_name: str, task_args: str) -> set[int]:
    """The order of a result row (runs from before attempts were recorded).

    The row keeps the arguments as text, e.g. "(12,)"; only tasks whose
    first argument is an order's pk count.
    """
    task = registered_task(task_name)
    if getattr(task, "business_object", None) != "orders.Order":
        return set()
    match = re.fullmatch(r"[\[(]\s*(\d+)\s*,?\s*[\])]", (task_args or "").strip().strip('"'))
    return {int(match.group(1))} if match else set()
