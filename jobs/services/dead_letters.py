"""Dead letters: recording tasks that failed for good, requeueing and resolving them."""

import logging
import uuid
from datetime import datetime

from celery import signature
from django.apps import apps
from django.db import transaction
from django.utils import timezone

from ..errors import DeadLetterError
from ..lock_objects import lock_dead_letter
from ..models import DeadLetter, DeadLetterEvent
from ..redaction import CannotUnseal, redact, seal, unseal
from ..selectors import registered_task
from .outbox import publish_on_commit

logger = logging.getLogger(__name__)

# Message header linking a requeued task to the dead letter it came from.
DEAD_LETTER_HEADER = "orderly_dead_letter_id"


def business_reference(model_label: str | None, args) -> str:
    """ "order:<uuid>" (or "user:<pk>") for a task whose first argument is that model's pk."""
    if not model_label or not args:
        return ""
    model = apps.get_model(model_label)
    name = model._meta.model_name
    public_id = (
        model.objects.filter(pk=args[0]).values_list("public_id", flat=True).first()
        if hasattr(model, "public_id")
        else None
    )
    return f"{name}:{public_id or args[0]}"


def record_dead_letter(
    *,
    task_name: str,
    task_id: str,
    queue: str,
    args,
    kwargs,
    exc: BaseException,
    traceback: str,
    attempts: int,
    worker_hostname: str,
    first_failed_at: datetime | None,
    reference: str,
) -> DeadLetter:
    """Write (or refresh) the dead letter of a task that failed for good."""
    now = timezone.now()
    fields = {
        "task_name": task_name,
        "queue": queue,
        "args": redact(list(args or [])),
        "kwargs": redact(dict(kwargs or {})),
        "sealed_arguments": seal({"args": list(args or []), "kwargs": dict(kwargs or {})}),
        "exception_class": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "exception_message": str(exc)[:5000],
        "traceback": traceback,
        "attempts": attempts,
        "worker_hostname": worker_hostname,
        "last_failed_at": now,
        "reference": reference,
        "status": DeadLetter.Status.OPEN,
    }
    dead_letter, _ = DeadLetter.objects.update_or_create(
        task_id=task_id,
        defaults=fields,
        create_defaults={**fields, "first_failed_at": first_failed_at or now},
    )
    logger.error(
        "dead letter #%s: %s[%s] %s failed for good after %d attempt(s): %r",
        dead_letter.pk, task_name, task_id, reference, attempts, exc,
    )  # fmt: skip
    return dead_letter


def requeue_dead_letter(*, dead_letter_id: int, actor=None) -> DeadLetter:
    """Publish the original task again, with its original arguments, to its original queue.

    Only an open dead letter can be requeued, and the row is locked while it
    happens, so a double click cannot publish twice. A refusal is recorded
    and raised as DeadLetterError with the reason.
    """
    with transaction.atomic():
        dead_letter = lock_dead_letter(dead_letter_id)
        if dead_letter is None:
            raise DeadLetter.DoesNotExist(f"no dead letter #{dead_letter_id}")
        refusal, arguments = _requeue_refusal(dead_letter)
        if refusal is None:
            new_task_id = str(uuid.uuid4())
            options = {"task_id": new_task_id, "headers": {DEAD_LETTER_HEADER: dead_letter.pk}}
            if dead_letter.queue:
                options["queue"] = dead_letter.queue
            publish_on_commit(
                signature(dead_letter.task_name, args=arguments["args"],
                          kwargs=arguments["kwargs"], options=options),
                reference=dead_letter.reference or f"dead-letter:{dead_letter.pk}",
            )  # fmt: skip
            _act(dead_letter, actor, DeadLetter.Status.REQUEUED, DeadLetterEvent.Action.REQUEUED,
                 detail=f"new task id {new_task_id}", requeued_task_id=new_task_id)  # fmt: skip
            return dead_letter
    DeadLetterEvent.objects.create(
        dead_letter=dead_letter,
        action=DeadLetterEvent.Action.REQUEUE_REFUSED,
        actor=_user(actor),
        detail=refusal,
    )
    raise DeadLetterError(refusal)


def _requeue_refusal(dead_letter: DeadLetter) -> tuple[str | None, dict | None]:
    """Why this dead letter cannot be requeued (or None), and its original arguments."""
    if dead_letter.status != DeadLetter.Status.OPEN:
        return (
            f"Dead letter #{dead_letter.pk} is {dead_letter.get_status_display().lower()}; "
            "only open dead letters can be requeued.",
            None,
        )
    if registered_task(dead_letter.task_name) is None:
        return (
            f"Task {dead_letter.task_name!r} no longer exists in this code base; "
            "resolve the dead letter instead.",
            None,
        )
    try:
        return None, unseal(dead_letter.sealed_arguments)
    except CannotUnseal as error:
        return str(error), None


def resolve_dead_letter(*, dead_letter_id: int, actor=None, note: str = "") -> DeadLetter:
    """Close a dead letter without running it again (handled by hand, or obsolete)."""
    with transaction.atomic():
        dead_letter = lock_dead_letter(dead_letter_id)
        if dead_letter is None:
            raise DeadLetter.DoesNotExist(f"no dead letter #{dead_letter_id}")
        if dead_letter.status == DeadLetter.Status.RESOLVED:
            raise DeadLetterError(f"Dead letter #{dead_letter.pk} is already resolved.")
        if note:
            dead_letter.note = note
        _act(dead_letter, actor, DeadLetter.Status.RESOLVED, DeadLetterEvent.Action.RESOLVED,
             detail=note)  # fmt: skip
    return dead_letter


def mark_requeue_succeeded(*, dead_letter_id: int, task_id: str) -> None:
    """The requeued task ran to success: the dead letter is resolved."""
    with transaction.atomic():
        dead_letter = lock_dead_letter(dead_letter_id)
        if dead_letter is None or dead_letter.status != DeadLetter.Status.REQUEUED:
            return
        _act(dead_letter, None, DeadLetter.Status.RESOLVED, DeadLetterEvent.Action.SUCCEEDED,
             detail=f"task {task_id} succeeded", keep_actor=True)  # fmt: skip


def _user(actor):
    return actor if actor is not None and actor.is_authenticated else None


def _act(dead_letter, actor, status, action, *, detail="", keep_actor=False, **fields):
    dead_letter.status = status
    if not keep_actor:
        dead_letter.acted_by = _user(actor)
        dead_letter.acted_at = timezone.now()
    for name, value in fields.items():
        setattr(dead_letter, name, value)
    dead_letter.save()
    DeadLetterEvent.objects.create(
        dead_letter=dead_letter, action=action, actor=_user(actor), detail=detail
    )
