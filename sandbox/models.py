from django.db import models


class GatewayRequest(models.Model):
    """Every charge request the sandbox gateway received (retries included)."""

    idempotency_key = models.CharField(max_length=120, db_index=True)
    status_code = models.PositiveSmallIntegerField(null=True)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.idempotency_key} -> {self.status_code}"


class GatewayPaymentMethod(models.Model):
    """A card a browser tokenized: the gateway's vault keeps the number, a shop sees the token.

    This is the gateway's storage, not the shop's: like a real gateway's vault
    it holds the card number. A token belongs to the account whose publishable
    key created it, expires unused after a while, and pays for one charge.
    """

    token = models.CharField(max_length=40, unique=True)
    account = models.CharField(max_length=40)
    card_number = models.CharField(max_length=19)
    brand = models.CharField(max_length=20)
    last4 = models.CharField(max_length=4)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    # The Idempotency-Key of the charge that used the token; empty while unused.
    used_by_key = models.CharField(max_length=120, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.token} ({self.brand} {self.last4})"


class GatewayCharge(models.Model):
    """A charge outcome, stored once per idempotency key and replayed after that."""

    idempotency_key = models.CharField(max_length=120, unique=True)
    charge_id = models.CharField(max_length=40, unique=True)
    reference = models.CharField(max_length=120, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    card_last4 = models.CharField(max_length=4)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.charge_id} ({self.status_code})"

    @property
    def succeeded(self) -> bool:
        return self.status_code < 300

    def as_json(self) -> dict:
        """The charge as the lookup endpoint shows it (what happened to its key)."""
        refund = getattr(self, "refund", None)
        return {
            "id": self.charge_id,
            "idempotency_key": self.idempotency_key,
            "status": "succeeded" if self.succeeded else "declined",
            "amount": str(self.amount),
            "currency": self.currency,
            "reference": self.reference,
            "refunded": refund is not None,
            "refund": refund.refund_id if refund else None,
        }


class GatewayRefund(models.Model):
    """A full refund of one charge, stored once per refund Idempotency-Key."""

    idempotency_key = models.CharField(max_length=120, unique=True)
    refund_id = models.CharField(max_length=40, unique=True)
    # One refund per charge: a charge is refunded in full or not at all.
    charge = models.OneToOneField(GatewayCharge, on_delete=models.PROTECT, related_name="refund")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.refund_id} of {self.charge.charge_id}"

    def as_json(self) -> dict:
        return {
            "id": self.refund_id,
            "charge": self.charge.charge_id,
            "amount": str(self.amount),
            "currency": self.charge.currency,
            "status": "succeeded",
        }


class WarehouseItem(models.Model):
    """What the sandbox warehouse says it has on hand for one SKU.

    Rows are created from the shop's catalog the first time the warehouse
    API is asked (see sandbox.warehouse); developers change quantities on
    the sandbox page to watch the stock sync pick them up.
    """

    sku = models.CharField(max_length=40, unique=True)
    on_hand = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]

    def __str__(self):
        return f"{self.sku}: {self.on_hand} on hand"


class WarehouseOutage(models.Model):
    """While a row exists the sandbox warehouse API answers 503.

    `failures_left` counts down the requests still to fail (the row is
    deleted at zero); empty means "until someone ends the outage".
    """

    failures_left = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        left = "until ended" if self.failures_left is None else f"{self.failures_left} left"
        return f"warehouse outage ({left})"


class ReceivedWebhook(models.Model):
    """A webhook the sandbox receiver got, and whether its signature verified."""

    received_at = models.DateTimeField(auto_now_add=True)
    webhook_id = models.CharField(max_length=100, blank=True)
    event_type = models.CharField(max_length=60, blank=True)
    verified = models.BooleanField(default=False)
    endpoint_id = models.BigIntegerField(null=True, blank=True)  # whose secret verified it
    problem = models.CharField(max_length=200, blank=True)
    answered_status = models.PositiveSmallIntegerField(default=204)
    body = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]

    def __str__(self):
        return f"{self.event_type or 'webhook'} {self.webhook_id}"
