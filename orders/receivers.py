"""What orders answers when the apps below it ask (connected in OrdersConfig.ready)."""

from django.dispatch import receiver

from inventory.signals import reserved_units_requested

from .selectors import quantities_reserved_by_unpaid_orders


@receiver(reserved_units_requested, dispatch_uid="orders.unpaid_orders")
def units_held_by_unpaid_orders(sender, *, product_ids, **kwargs) -> dict[int, int]:
    """Checkout took these units out of stock; the warehouse still counts them as on hand."""
    return quantities_reserved_by_unpaid_orders(product_ids=product_ids)
