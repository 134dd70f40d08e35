"""Stock changes. Callers hold a transaction; rows are locked in primary-key order."""

from collections.abc import Mapping

from django.db import transaction

from .errors import OutOfStock, UnknownProduct
from .models import Product


def reserve_stock(*, quantities: Mapping[int, int]) -> dict[int, Product]:
    """Lock the products, check every quantity, and decrement stock.

    Must run inside a transaction. Locks are taken in primary-key order so
    two checkouts of overlapping carts can never deadlock. Raises
    UnknownProduct or OutOfStock before changing anything. Returns the
    locked products by id.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("reserve_stock must run inside transaction.atomic()")
    products = {
        product.pk: product
        for product in Product.objects.select_for_update()
        .filter(pk__in=quantities.keys(), is_active=True)
        .order_by("pk")
    }
    for product_id, quantity in quantities.items():
        product = products.get(product_id)
        if product is None:
            raise UnknownProduct(product_id)
        if quantity > product.stock:
            raise OutOfStock(product, quantity)
    for product_id, quantity in quantities.items():
        product = products[product_id]
        product.stock -= quantity
        product.save(update_fields=["stock", "updated_at"])
    return products


def release_stock(*, quantities: Mapping[int, int]) -> None:
    """Give stock back (a cancelled order). Must run inside a transaction."""
    for product in Product.objects.select_for_update().filter(pk__in=quantities).order_by("pk"):
        product.stock += quantities[product.pk]
        product.save(update_fields=["stock", "updated_at"])
