"""Hooks for the apps above inventory.

inventory sits below orders in the layers (docs/architecture.md, Layers), so it cannot
ask orders which units unpaid orders hold; orders connects a receiver to
`reserved_units_requested` in its AppConfig.ready instead.
"""

from django.dispatch import Signal

# Sent with product_ids=[...]; each receiver returns {product id: units held}.
reserved_units_requested = Signal()


def reserved_units(*, product_ids: list[int]) -> dict[int, int]:
    """{product id: units} that the apps above hold back from sale, summed over receivers."""
    held: dict[int, int] = {}
    for _receiver, units in reserved_units_requested.send(sender=None, product_ids=product_ids):
        for product_id, count in units.items():
            held[product_id] = held.get(product_id, 0) + count
    return held
