"""Row locks for the inventory app's tables, taken one way everywhere.

Every `select_for_update` of this app goes through here (after Saleor's
`order/lock_objects.py`): products in primary-key order, so two checkouts
of overlapping carts (or a checkout and the warehouse sync) wait for each
other instead of deadlocking; `of=("self",)` so a join never locks more.
Call these inside `transaction.atomic()`.
"""

from collections.abc import Iterable

from .models import Product


def lock_products(*, product_ids: Iterable[int], active_only: bool = False) -> list[Product]:
    """The products with these ids, locked in primary-key order."""
    queryset = Product.objects.filter(pk__in=list(product_ids))
    if active_only:
        queryset = queryset.filter(is_active=True)
    return list(queryset.select_for_update(of=("self",)).order_by("pk"))


def lock_products_by_sku(*, skus: Iterable[str]) -> list[Product]:
    """The products with these SKUs, locked in primary-key order."""
    return list(
        Product.objects.filter(sku__in=list(skus)).select_for_update(of=("self",)).order_by("pk")
    )
