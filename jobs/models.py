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
        SUCCEEDED = "succeeded", "Requeued task succeeded"

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
