"""Row locks for the sandbox's tables (the same rule as the shop's apps: pk order, of self)."""

from .models import WarehouseOutage


def lock_current_outage() -> WarehouseOutage | None:
    """The oldest warehouse outage switched on, locked; None when there is none."""
    return WarehouseOutage.objects.select_for_update(of=("self",)).order_by("pk").first()
