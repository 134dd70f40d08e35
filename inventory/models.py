from django.db import models
from django.urls import reverse


class Product(models.Model):
    sku = models.CharField(max_length=40, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    name = models.CharField(max_length=120)
    category = models.CharField(max_length=60, db_index=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    LOW_STOCK = 5

    class Meta:
        ordering = ["category", "name"]
        constraints = [
            # The last line of defence: no code path may oversell.
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="product_stock_gte_0"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="product_price_gte_0"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("inventory:product", kwargs={"slug": self.slug})

    @property
    def is_low_stock(self) -> bool:
        return 0 < self.stock <= self.LOW_STOCK
