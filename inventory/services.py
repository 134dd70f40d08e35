"""Stock changes. Callers hold a transaction; rows are locked in primary-key order."""

import logging
from collections.abc import Mapping

from django.db import transaction

from jobs.locks import LockHeld, exclusive

from . import warehouse
from .errors import OutOfStock, UnknownProduct
from .lock_objects import lock_products, lock_products_by_sku
from .models import Product
from .signals import reserved_units

logger = logging.getLogger(__name__)

WAREHOUSE_SYNC_LOCK = "inventory:warehouse-sync"
# Longer than the sync task's hard time limit (inventory.tasks), so the lock
# outlives any run that holds it, and frees itself if a worker dies mid-run.
WAREHOUSE_SYNC_LOCK_SECONDS = 180


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
        for product in lock_products(product_ids=quantities.keys(), active_only=True)
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
    for product in lock_products(product_ids=quantities):
        product.stock += quantities[product.pk]
        product.save(update_fields=["stock", "updated_at"])


def sync_stock_from_warehouse(*, page_size: int = warehouse.PAGE_SIZE) -> dict:
    """Set each product's stock to what the warehouse has, less what unpaid orders hold.

    Sellable stock = warehouse on-hand - units reserved by orders awaiting
    payment (checkout already took those out of the shop's stock, and the
    warehouse still has them), never below zero.

    Guarantees:
    - Idempotent: stock is set, not adjusted, so a second run with the same
      warehouse answer changes nothing.
    - No overlap: runs hold a Redis lock; a run that finds it taken returns
      {"skipped": True} without calling the warehouse.
    - No database lock across the network: every page is fetched first,
      then products are locked in primary-key order (as checkout does) and
      updated in one transaction, so a concurrent checkout either commits
      before (and is counted as reserved) or waits and decrements the new
      stock.
    - Warehouse failures raise TemporaryError (timeouts, 5xx; retried) or
      PermanentError (4xx, malformed answers); nothing is changed then.

    Returns a JSON-safe summary (the task's result, which operators read).
    """
    try:
        with exclusive(WAREHOUSE_SYNC_LOCK, timeout=WAREHOUSE_SYNC_LOCK_SECONDS):
            on_hand = warehouse.fetch_on_hand(page_size=page_size)
            return _apply_on_hand(on_hand)
    except LockHeld as held:
        logger.info("warehouse sync skipped: another run is in progress (%s)", held)
        return {"skipped": True, "reason": "another sync was in progress"}


def _apply_on_hand(on_hand: Mapping[str, int]) -> dict:
    updated = unchanged = 0
    with transaction.atomic():
        products = lock_products_by_sku(skus=on_hand)
        reserved = reserved_units(product_ids=[p.pk for p in products])
        for product in products:
            held = reserved.get(product.pk, 0)
            sellable = on_hand[product.sku] - held
            if sellable < 0:
                logger.warning(
                    "warehouse has %d of %s but unpaid orders hold %d; selling none",
                    on_hand[product.sku], product.sku, held,
                )  # fmt: skip
                sellable = 0
            if product.stock == sellable:
                unchanged += 1
                continue
            logger.info("stock of %s: %d -> %d", product.sku, product.stock, sellable)
            product.stock = sellable
            product.save(update_fields=["stock", "updated_at"])
            updated += 1
    known = {product.sku for product in products}
    unknown = sorted(set(on_hand) - known)
    not_listed = Product.objects.exclude(sku__in=list(on_hand)).count()
    if unknown:
        logger.info("warehouse lists %d SKU(s) the shop does not sell", len(unknown))
    if not_listed:
        logger.warning("%d product(s) missing from the warehouse list kept their stock", not_listed)
    return {
        "skipped": False,
        "warehouse_skus": len(on_hand),
        "updated": updated,
        "unchanged": unchanged,
        "unknown_skus": unknown[:20],
        "products_not_listed": not_listed,
    }
