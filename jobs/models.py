from django.conf import settings
from django.db import models


class OutboxMessage(models.Model):
    """A Celery signature to publish, written in the transaction that needs it.

    The row commits with the business change; it is published right after
    commit and marked sent. Rows still unsent after a grace period (broker
    down, process died between commit and publish) are published by the relay.
    """

    signature = models.JSONField(help_text="The Celery signature (task or canvas) as JSON.")
    reference = models.CharField(max_length=200, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    publish_attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # W3C trace context of the transaction that wrote the row, so a later
    # publish (the relay) continues that trace. Set by whoever traces; "" if none.
    traceparent = models.CharField(max_length=100, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(sent_at__isnull=True),
                name="outbox_unsent_idx",
            )
        ]

    def __str__(self):
        state = "sent" if self.sent_at else "pending"
        return f"outbox #{self.pk} {self.reference or ''} ({state})"


class DeadLetter(models.Model):
    """A task that failed for good: retries exhausted, or a permanent error.

    Written by the shared base task (jobs.base.OrderlyTask.on_failure), never
    by a task itself. Operators read it in admin and requeue or resolve it.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        REQUEUED = "requeued", "Requeued"
        RESOLVED = "resolved", "Resolved"

    task_name = models.CharField(max_length=200, db_index=True)
    task_id = models.CharField(max_length=255, unique=True)
    queue = models.CharField(max_length=100, blank=True)
    args = models.JSONField(default=list, help_text="Redacted: secrets are hidden.")
    kwargs = models.JSONField(default=dict, help_text="Redacted: secrets are hidden.")
    sealed_arguments = models.TextField(help_text="Encrypted original arguments, for requeue.")
    exception_class = models.CharField(max_length=200, db_index=True)
    exception_message = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=1)
    worker_hostname = models.CharField(max_length=200, blank=True)
    first_failed_at = models.DateTimeField()
    last_failed_at = models.DateTimeField(db_index=True)
    # The business object the task worked on, e.g. "order:<uuid>".
    reference = models.CharField(max_length=200, blank=True, db_index=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    acted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acted_at = models.DateTimeField(null=True, blank=True)
    requeued_task_id = models.CharField(max_length=255, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-last_failed_at"]
        permissions = [("requeue_deadletter", "Can requeue dead letters")]

    def __str__(self):
        return f"{self.task_name} [{self.task_id}]"


class DeadLetterEvent(models.Model):
    """What an operator (or the system) did to a dead letter, and when."""

    class Action(models.TextChoices):
        REQUEUED = "requeued", "Requeued"
        REQUEUE_REFUSED = "requeue_refused", "Requeue refused"
        RESOLVED = "resolved", "Resolved"
        SUCCEEDED = "succeeded", "Requeued task did the work"
        NOTHING_DONE = "nothing_done", "Requeued task did nothing"
        FAILED_AGAIN = "failed_again", "Requeued task failed again"

    dead_letter = models.ForeignKey(DeadLetter, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=20, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detail = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at"]

    def __str__(self):
        return f"{self.get_action_display()} by {self.actor or 'system'}"


class TaskAttempt(models.Model):
    """One run of a task that works on a business object, for the operator's timeline.

    Written by the worker when the run ends (jobs.services.task_attempts), only for tasks
    that name a `business_object`: a result row keeps only a task's last
    state, and the timeline must show every retry and why it happened.
    """

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        RETRYING = "retrying", "Failed, will retry"
        FAILED = "failed", "Failed for good"

    task_id = models.CharField(max_length=255, db_index=True)
    task_name = models.CharField(max_length=200)
    # "<app_label>.<model>:<pk>" of the task's first argument, e.g. "orders.order:12".
    business_key = models.CharField(max_length=200, db_index=True)
    queue = models.CharField(max_length=100, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    retries = models.PositiveIntegerField(default=0, help_text="0 for the first run.")
    started_at = models.DateTimeField(db_index=True)
    duration_ms = models.PositiveIntegerField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    detail = models.TextField(blank=True, help_text="Why it is retried, or the error.")

    class Meta:
        ordering = ["started_at", "pk"]

    def __str__(self):
        return f"{self.task_name}[{self.task_id}] {self.outcome}"


class PausedQueue(models.Model):
    """A queue no worker consumes until an operator resumes it.

    The row outlives worker restarts: a starting worker cancels its consumer
    of every paused queue before it takes a message (jobs.services.queue_pausing).
    """

    queue = models.CharField(max_length=100, unique=True)
    paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    paused_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=300, blank=True)
    # Workers whose consumer of this queue was cancelled: resume asks them to consume again.
    workers = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["queue"]
        verbose_name = "queue"
        verbose_name_plural = "queues (pause and resume)"
        permissions = [("pause_queue", "Can pause and resume queues")]

    def __str__(self):
        return f"{self.queue} (paused)"


class QueueEvent(models.Model):
    """Who paused or resumed a queue, when, and which workers it reached."""

    class Action(models.TextChoices):
        PAUSED = "paused", "Paused"
        RESUMED = "resumed", "Resumed"

    queue = models.CharField(max_length=100, db_index=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detail = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.queue} {self.action} by {self.actor or 'system'}"


class BulkRequeue(models.Model):
    """Requeueing every open dead letter a filter matched, at a set pace, in the background.

    The dead letters are fixed when the operator confirms the dry run; a
    Celery job walks them in order (`position`), one requeue per step, and
    can be cancelled between steps (jobs.services.bulk_requeue).
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        CANCELLED = "cancelled", "Cancelled"
        DONE = "done", "Done"

    filter_description = models.CharField(max_length=1000, blank=True)
    dead_letter_ids = models.JSONField(default=list)
    rate_per_second = models.FloatField()
    position = models.PositiveIntegerField(default=0, help_text="Dead letters handled so far.")
    requeued = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    refusals = models.JSONField(default=list, blank=True, help_text="Why each refusal.")
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.RUNNING, db_index=True
    )
    cancel_requested = models.BooleanField(default=False)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    first_step_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rate_per_second__gt=0), name="bulk_requeue_rate_gt_0"
            )
        ]

    def __str__(self):
        return f"Bulk requeue #{self.pk} ({self.position}/{self.total})"

    @property
    def total(self) -> int:
        return len(self.dead_letter_ids)
