"""The sandbox warehouse: on-hand quantities by SKU, served page by page.

Like a real warehouse system it knows nothing about the shop's orders: it
reports what is physically available. The shop subtracts what its unpaid
orders reserve (inventory.services.sync_stock_from_warehouse).
"""

from django.db import transaction
from django.db.models import F

from inventory.models import Product
from orders.selectors import quantities_reserved_by_unpaid_orders

from .lock_objects import lock_current_outage
from .models import WarehouseItem, WarehouseOutage

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


def ensure_catalog_items() -> int:
    """Create a warehouse row for every catalog SKU that has none; return how many.

    A new row starts at what the shop already believes (its stock plus what
    unpaid orders hold), so the first sync after it changes nothing.
    """
    known = set(WarehouseItem.objects.values_list("sku", flat=True))
    missing = list(Product.objects.exclude(sku__in=known).values_list("pk", "sku", "stock"))
    if not missing:
        return 0
    reserved = quantities_reserved_by_unpaid_orders(product_ids=[pk for pk, _, _ in missing])
    WarehouseItem.objects.bulk_create(
        [
            WarehouseItem(sku=sku, on_hand=max(stock, 0) + reserved.get(pk, 0))
            for pk, sku, stock in missing
        ],
        ignore_conflicts=True,  # a concurrent request created some of them
    )
    return len(missing)


def stock_page(*, page: int, page_size: int) -> dict:
    """One page of {"sku", "on_hand"} rows in SKU order, with the next page number or None."""
    page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
    items = WarehouseItem.objects.order_by("sku")
    count = items.count()
    start = (page - 1) * page_size
    rows = list(items.values("sku", "on_hand")[start : start + page_size])
    return {
        "count": count,
        "page": page,
        "next_page": page + 1 if start + page_size < count else None,
        "results": rows,
    }


def outage_answers_now() -> bool:
    """True if an outage is on: this request fails (and counts down a limited outage)."""
    with transaction.atomic():
        outage = lock_current_outage()
        if outage is None:
            return False
        if outage.failures_left is not None:
            if outage.failures_left <= 1:
                outage.delete()
            else:
                WarehouseOutage.objects.filter(pk=outage.pk).update(
                    failures_left=F("failures_left") - 1
                )
        return True


def set_on_hand(*, sku: str, on_hand: int) -> WarehouseItem:
    item, _ = WarehouseItem.objects.update_or_create(sku=sku, defaults={"on_hand": on_hand})
    return item


def start_outage(*, failures: int | None = None) -> WarehouseOutage:
    """Make the next `failures` requests (all of them when None) answer 503."""
    WarehouseOutage.objects.all().delete()
    return WarehouseOutage.objects.create(failures_left=failures)


def end_outage() -> None:
    WarehouseOutage.objects.all().delete()
