import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.urls import reverse


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", "Awaiting payment"
        # We stopped trying to charge but the gateway has not said whether a
        # charge went through; the order waits and is asked about again.
        CONFIRMING_PAYMENT = "confirming_payment", "Confirming payment"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"

    # URLs and shoppers see only the random public id, never the integer pk.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    email = models.EmailField()
    full_name = models.CharField(max_length=120)
    shipping_address = models.TextField()
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING_PAYMENT, db_index=True
    )
    cancel_reason = models.CharField(max_length=200, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    total = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(total__gte=0), name="order_total_gte_0"),
        ]

    def __str__(self):
        return f"Order {self.number}"

    def get_absolute_url(self):
        return reverse("orders:detail", kwargs={"public_id": self.public_id})

    @property
    def number(self) -> str:
        """The human-facing order number (on pages, e-mails and invoices)."""
        return f"ORD-{self.pk:06d}"


class OrderItem(models.Model):
    """A line of an order, with the product's name and price as they were at checkout."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT)
    sku = models.CharField(max_length=40)
    name = models.CharField(max_length=120)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="item_quantity_gte_1"),
            models.UniqueConstraint(fields=["order", "product"], name="item_product_once"),
        ]

    def __str__(self):
        return f"{self.quantity} x {self.name}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class Payment(models.Model):
    """The charge for an order. One per order; its key makes the charge idempotent."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        DECLINED = "declined", "Declined"
        FAILED = "failed", "Failed"  # the gateway confirmed nothing was charged
        # Charged at the gateway for an order that was cancelled meanwhile.
        REFUND_DUE = "refund_due", "Refund due"
        REFUNDED = "refunded", "Refunded"

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="payment")
    # Sent to the gateway on every attempt, so a retried charge never charges twice.
    idempotency_key = models.CharField(max_length=80, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    # The card as the gateway reported it: its single-use token (the browser
    # tokenized the card at the gateway; the number never reaches Orderly),
    # and its last four digits and brand, for the shopper and the invoice.
    payment_method = models.CharField(max_length=80, blank=True)
    card_last4 = models.CharField(max_length=4)
    card_brand = models.CharField(max_length=20, blank=True)
    gateway_charge_id = models.CharField(max_length=80, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # When the latest charge attempt started: an attempt this recent may still
    # be talking to the gateway, so the abandoned-order job leaves it alone.
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    gateway_refund_id = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A token pays for one charge: never for two orders.
            models.UniqueConstraint(
                fields=["payment_method"],
                condition=~models.Q(payment_method=""),
                name="payment_method_used_once",
            ),
        ]

    def __str__(self):
        return f"Payment for {self.order} ({self.status})"

    @property
    def refund_idempotency_key(self) -> str:
        return f"{self.idempotency_key}-refund"

    @property
    def is_settled(self) -> bool:
        return self.status != self.Status.PENDING


class PaymentEvent(models.Model):
    """Something that happened to an order's payment, for operators (admin, on the order).

    Every charge attempt, every question to the gateway about what happened
    to the idempotency key, and every refund leaves one, with its outcome.
    """

    class Kind(models.TextChoices):
        ATTEMPT = "attempt", "Charge attempt"
        LOOKUP = "lookup", "Gateway lookup"
        REFUND = "refund", "Refund"
        SETTLED = "settled", "Settled"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payment_events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    outcome = models.CharField(max_length=40)
    detail = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.outcome}"
