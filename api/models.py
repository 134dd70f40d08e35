"""API clients (machine callers with a key), their idempotency keys, and the orders they placed."""

from django.db import models


class ApiClient(models.Model):
    """A machine client: one secret key, looked up by its public prefix, stored only hashed."""

    name = models.CharField(max_length=120)
    key_prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    is_active = models.BooleanField(
        default=True, help_text="Untick to revoke the key: its requests get 401 at once."
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        default=60, help_text="Requests this key may make per clock minute (429 beyond)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "API client"

    def __str__(self):
        return f"{self.name} ({self.key_prefix}…)"


class IdempotencyKey(models.Model):
    """One `Idempotency-Key` of one client: the request it named and the response it got."""

    class Status(models.TextChoices):
        PROCESSING = "processing", "Processing"
        COMPLETED = "completed", "Completed"

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="idempotency_keys")
    key = models.CharField(max_length=255)
    # sha256 of the request body as canonical JSON (sorted keys, no spaces).
    request_fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=Status, default=Status.PROCESSING)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # When the request now processing it started; a claim older than the lease is taken over.
    locked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="api_idempotency_key_per_client")
        ]

    def __str__(self):
        return f"{self.key} ({self.status})"


class ApiOrder(models.Model):
    """Which API client placed an order (orders placed in the browser have none)."""

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="api_order")
    client = models.ForeignKey(
        ApiClient, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "API order"

    def __str__(self):
        return f"{self.order} via {self.client or 'a deleted client'}"
