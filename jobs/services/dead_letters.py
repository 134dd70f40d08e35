"""Dead letters: recording tasks that failed for good, requeueing and resolving them."""

import logging
import uuid
from datetime import datetime

from celery import signature
from django.apps import apps
from django.db import transaction
from django.utils import timezone

from .. import requeue
from ..errors import DeadLetterError
from ..lock_objects import lock_dead_letter
from ..models import DeadLetter, DeadLetterEvent
from ..redaction import CannotUnseal, redact, seal, unseal
from ..requeue import NothingDone, RequeueRefused
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
    requeue_of: int | None = None,
) -> DeadLetter:
    """Write (or refresh) the dead letter of a task that failed for good.

    A requeued task that fails again (`requeue_of`: the dead letter it was
    requeued from) reopens that letter with the new failure: one piece of
    work keeps one dead letter, and its audit trail says the requeue failed.
    """
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
    with transaction.atomic():
        original = lock_dead_letter(requeue_of) if requeue_of else None
        if original is not None and original.status == DeadLetter.Status.REQUEUED:
            DeadLetter.objects.filter(pk=original.pk).update(**fields)
            dead_letter = DeadLetter.objects.get(pk=original.pk)
            DeadLetterEvent.objects.create(
                dead_letter=dead_letter,
                action=DeadLetterEvent.Action.FAILED_AGAIN,
                detail=f"task {task_id} failed again: {fields['exception_message'][:500]}",
            )
        else:
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
    """Make the dead letter's work runnable again and publish its task once more.

    In one transaction, with the row locked (a double click, or two operators
    at once, cannot publish twice): the app's preparer readies the business
    object and chooses the arguments (jobs.requeue), the task is published
    after commit to its original queue, and the requeue is recorded. The
    letter is resolved only when the task reports that it did the work. A
    refusal is recorded and raised as DeadLetterError with the reason; the
    letter stays open and nothing is published.
    """
    with transaction.atomic():
        dead_letter = lock_dead_letter(dead_letter_id)
        if dead_letter is None:
            raise DeadLetter.DoesNotExist(f"no dead letter #{dead_letter_id}")
        refusal, arguments = _prepared(dead_letter)
        if refusal is None:
            new_task_id = str(uuid.uuid4())
            options = {"task_id": new_task_id, "headers": {DEAD_LETTER_HEADER: dead_letter.pk}}
            if dead_letter.queue:
                options["queue"] = dead_letter.queue
            args, kwargs = arguments
            publish_on_commit(
                signature(dead_letter.task_name, args=args, kwargs=kwargs, options=options),
                reference=dead_letter.reference or f"dead-letter:{dead_letter.pk}",
            )
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


def requeue_preview(dead_letter_ids) -> tuple[int, list[str]]:
    """A dry run of requeueing these: how many would run, and why each other would not.

    It runs the real checks and preparers, then rolls everything back, so
    the count is what a requeue would do now, not what the filter matched.
    """
    will_run, refusals = 0, []
    with transaction.atomic():
        for dead_letter in DeadLetter.objects.filter(pk__in=list(dead_letter_ids)).order_by("pk"):
            refusal, _ = _prepared(dead_letter)
            if refusal is None:
                will_run += 1
            else:
                refusals.append(f"#{dead_letter.pk}: {refusal}")
        transaction.set_rollback(True)
    return will_run, refusals


def _prepared(dead_letter: DeadLetter) -> tuple[str | None, tuple[list, dict] | None]:
    """Why this dead letter cannot be requeued (or None), and the arguments to publish."""
    refusal, arguments = _requeue_refusal(dead_letter)
    if refusal is not None:
        return refusal, None
    try:
        with transaction.atomic():  # a savepoint: a refused preparation leaves nothing behind
            return None, requeue.prepare(
                dead_letter.task_name, arguments["args"], arguments["kwargs"]
            )
    except RequeueRefused as error:
        return str(error), None


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
        arguments = unseal(dead_letter.sealed_arguments)
    except CannotUnseal as error:
        return str(error), None
    gone = _missing_business_object(dead_letter, arguments["args"])
    if gone:
        return f"{gone} no longer exists; resolve the dead letter instead.", None
    return None, arguments


def _missing_business_object(dead_letter: DeadLetter, args: list) -> str:
    """The business object the task works on, named, if it was deleted since ("" if not)."""
    model_label = getattr(registered_task(dead_letter.task_name), "business_object", None)
    if not model_label or not args:
        return ""
    model = apps.get_model(model_label)
    if model.objects.filter(pk=args[0]).exists():
        return ""
    return f"The {model._meta.verbose_name} {dead_letter.reference or f'#{args[0]}'}"


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


def record_requeue_outcome(*, dead_letter_id: int, task_id: str, result) -> None:
    """The requeued task returned: resolve the letter, or reopen it if it did nothing.

    A task that found nothing to do returns jobs.requeue.NothingDone with
    the reason; the letter goes back to open with that reason in its trail,
    and the operator is never told the work was done when it was not.
    """
    with transaction.atomic():
        dead_letter = lock_dead_letter(dead_letter_id)
        if dead_letter is None or dead_letter.status != DeadLetter.Status.REQUEUED:
            return
        if isinstance(result, NothingDone):
            _act(dead_letter, None, DeadLetter.Status.OPEN, DeadLetterEvent.Action.NOTHING_DONE,
                 detail=f"task {task_id} did nothing: {result}", keep_actor=True)  # fmt: skip
            return
        _act(dead_letter, None, DeadLetter.Status.RESOLVED, DeadLetterEvent.Action.SUCCEEDED,
             detail=f"task {task_id} did the work", keep_actor=True)  # fmt: skip


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
