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
