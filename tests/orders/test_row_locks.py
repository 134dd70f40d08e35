"""Row locks lock what they name and nothing more (PostgreSQL: SQLite has no row locks)."""

import threading

import pytest
from django.db import connection, connections, transaction
from django.db.utils import OperationalError

from orders.lock_objects import lock_payment
from orders.models import Order
from tests.factories import ProductFactory, create_order

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks need PostgreSQL (set DATABASE_URL; CI does)",
)


def can_lock_from_another_connection(model, pk) -> bool:
    """Try FOR UPDATE NOWAIT on the row from a second connection, in a thread."""
    outcome = {}

    def attempt():
        try:
            with transaction.atomic():
                list(model.objects.select_for_update(nowait=True).filter(pk=pk))
            outcome["locked"] = True
        except OperationalError:
            outcome["locked"] = False
        finally:
            connections.close_all()

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join(10)
    return outcome["locked"]


@pytest.mark.django_db(transaction=True)
def test_locking_a_payment_with_its_order_loaded_leaves_the_order_unlocked():
    order = create_order({ProductFactory(): 1})
    with transaction.atomic():
        payment = lock_payment(order_id=order.pk, with_order=True)
        assert payment.order.pk == order.pk  # loaded by the same query
        assert can_lock_from_another_connection(Order, order.pk)
        assert not can_lock_from_another_connection(type(payment), payment.pk)
