from django.conf import settings
from django.db import models


class EmailLog(models.Model):
    """One row per e-mail sent; its unique key makes every send happen once."""

    class Kind(models.TextChoices):
        ORDER_CONFIRMATION = "order_confirmation", "Order confirmation"
        PAYMENT_FAILED = "payment_failed", "Payment failed"
        WELCOME = "welcome", "Welcome"
        SALES_REPORT = "sales_report", "Sales report (staff)"
        OPERATOR_DIGEST = "operator_digest", "Operator digest (staff)"

    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=40, choices=Kind.choices)
    to = models.EmailField()
    subject = models.CharField(max_length=200)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.CASCADE, related_name="emails"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE
    )
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.to}"
