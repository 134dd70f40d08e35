from django.db import models


class Invoice(models.Model):
    """The invoice PDF of a paid order, stored under a key derived from the order."""

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="invoice")
    number = models.CharField(max_length=40, unique=True)
    file = models.FileField(max_length=200)
    size_bytes = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.number
