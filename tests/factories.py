from decimal import Decimal

import factory

from inventory.models import Product


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"TST-{n:04d}")
    slug = factory.Sequence(lambda n: f"test-product-{n}")
    name = factory.Sequence(lambda n: f"Test product {n}")
    category = "Coffee"
    price = Decimal("10.00")
    stock = 10
