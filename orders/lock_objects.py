"""Row locks for the orders app's tables, taken one way everywhere.

Every `select_for_update` of this app goes through here (after Saleor's
`order/lock_objects.py`): rows in primary-key order, and `of=("self",)` so
that a join (say, a payment with its order) locks only the named table's
rows. Call these inside `transaction.atomic()`.
"""

from .models import Payment


def lock_payment(*, order_id: int, with_order: bool = False) -> Payment:
    """The order's payment, locked; `with_order` also loads (not locks) its order."""
    queryset = Payment.objects.select_for_update(of=("self",))
    if with_order:
        queryset = queryset.select_related("order")
    return queryset.get(order_id=order_id)
