"""The stock sync and its warehouse client against the sandbox warehouse over real HTTP."""

import threading

import pytest
import requests

from inventory import services, warehouse
from inventory.models import Product
from jobs import locks
from jobs.errors import PermanentError, TemporaryError
from orders.models import Order
from sandbox import warehouse as sandbox_warehouse
from sandbox.models import WarehouseItem
from tests.factories import ProductFactory, create_order

pytestmark = pytest.mark.django_db(transaction=True)


def stock(product) -> int:
    product.refresh_from_db()
    return product.stock


def set_on_hand(**quantities):
    sandbox_warehouse.ensure_catalog_items()
    for sku, on_hand in quantities.items():
        sandbox_warehouse.set_on_hand(sku=sku, on_hand=on_hand)


def test_client_reads_every_page_of_the_warehouse(warehouse_url):
    products = [ProductFactory(stock=n) for n in range(5)]

    on_hand = warehouse.fetch_on_hand(page_size=2)  # three pages

    assert on_hand == {product.sku: product.stock for product in products}


def test_sync_sets_stock_to_on_hand_less_what_unpaid_orders_hold(warehouse_url):
    beans, mug, kettle = ProductFactory(stock=3), ProductFactory(stock=4), ProductFactory(stock=9)
    create_order({beans: 2}, status=Order.Status.PENDING_PAYMENT)
    create_order({beans: 1, mug: 1}, status=Order.Status.PENDING_PAYMENT)
    # Paid orders have left the warehouse's count; cancelled ones hold nothing.
    create_order({beans: 5, mug: 5}, status=Order.Status.PAID)
    create_order({kettle: 4}, status=Order.Status.CANCELLED)
    set_on_hand(**{beans.sku: 20, mug.sku: 7, kettle.sku: 2})

    result = services.sync_stock_from_warehouse(page_size=2)

    assert (stock(beans), stock(mug), stock(kettle)) == (20 - 3, 7 - 1, 2)
    assert result["updated"] == 3 and result["skipped"] is False


def test_second_sync_changes_nothing(warehouse_url):
    beans = ProductFactory(stock=3)
    create_order({beans: 2}, status=Order.Status.PENDING_PAYMENT)
    set_on_hand(**{beans.sku: 12})
    services.sync_stock_from_warehouse()
    first = Product.objects.get(pk=beans.pk)

    result = services.sync_stock_from_warehouse()

    assert result["updated"] == 0 and result["unchanged"] == 1
    second = Product.objects.get(pk=beans.pk)
    assert (second.stock, second.updated_at) == (10, first.updated_at)


def test_new_warehouse_items_start_where_the_shop_is_so_a_first_sync_changes_nothing(
    warehouse_url,
):
    beans = ProductFactory(stock=3)
    create_order({beans: 2}, status=Order.Status.PENDING_PAYMENT)

    result = services.sync_stock_from_warehouse()

    assert WarehouseItem.objects.get(sku=beans.sku).on_hand == 5
    assert stock(beans) == 3
    assert result["updated"] == 0


def test_when_unpaid_orders_hold_more_than_the_warehouse_has_nothing_is_for_sale(warehouse_url):
    beans = ProductFactory(stock=2)
    create_order({beans: 4}, status=Order.Status.PENDING_PAYMENT)
    set_on_hand(**{beans.sku: 3})

    services.sync_stock_from_warehouse()

    assert stock(beans) == 0  # never negative (and the database would refuse it)


def test_warehouse_skus_the_shop_does_not_sell_are_reported_and_ignored(warehouse_url):
    beans = ProductFactory(stock=3)
    set_on_hand(**{beans.sku: 8})
    sandbox_warehouse.set_on_hand(sku="NOT-SOLD-HERE", on_hand=40)

    result = services.sync_stock_from_warehouse()

    assert stock(beans) == 8
    assert result["unknown_skus"] == ["NOT-SOLD-HERE"]
    assert not Product.objects.filter(sku="NOT-SOLD-HERE").exists()


def test_warehouse_outage_is_temporary_and_changes_nothing(warehouse_url):
    beans = ProductFactory(stock=3)
    set_on_hand(**{beans.sku: 8})
    sandbox_warehouse.start_outage(failures=1)

    with pytest.raises(TemporaryError, match="503") as caught:
        services.sync_stock_from_warehouse()

    assert caught.value.retry_after == 1.0
    assert stock(beans) == 3
    services.sync_stock_from_warehouse()  # the outage is over
    assert stock(beans) == 8


def test_unreachable_warehouse_is_temporary(settings, db):
    settings.WAREHOUSE_API_URL = "http://127.0.0.1:9/warehouse"
    with pytest.raises(TemporaryError, match="unreachable"):
        warehouse.fetch_on_hand()


def test_a_4xx_is_permanent(live_server, settings):
    settings.WAREHOUSE_API_URL = f"{live_server.url}/sandbox/no-such-warehouse"
    with pytest.raises(PermanentError, match="404"):
        warehouse.fetch_on_hand()


def test_malformed_page_is_permanent(warehouse_url):
    ProductFactory()
    WarehouseItem.objects.create(sku="", on_hand=1)
    with pytest.raises(PermanentError, match="malformed"):
        warehouse.fetch_on_hand()


def test_sandbox_warehouse_refuses_requests_without_its_key(warehouse_url):
    response = requests.get(f"{warehouse_url}/stock", timeout=5)
    assert response.status_code == 401


def test_sync_while_another_run_holds_the_lock_does_no_work(warehouse_url):
    beans = ProductFactory(stock=3)
    set_on_hand(**{beans.sku: 8})

    with locks.exclusive(services.WAREHOUSE_SYNC_LOCK, timeout=10):
        sandbox_warehouse.start_outage()  # any call to the warehouse would now fail
        result = services.sync_stock_from_warehouse()

    assert result == {"skipped": True, "reason": "another sync was in progress"}
    assert stock(beans) == 3


def test_two_concurrent_syncs_do_the_work_once(warehouse_url, monkeypatch):
    beans = ProductFactory(stock=3)
    set_on_hand(**{beans.sku: 8})
    # The warehouse answers slowly, and tells us when the first run is waiting on it.
    first_run_waiting, let_it_answer = threading.Event(), threading.Event()
    pages_served = []
    real_stock_page = sandbox_warehouse.stock_page

    def slow_stock_page(**kwargs):
        pages_served.append(kwargs["page"])
        first_run_waiting.set()
        let_it_answer.wait(10)
        return real_stock_page(**kwargs)

    monkeypatch.setattr(sandbox_warehouse, "stock_page", slow_stock_page)
    results = {}
    first = threading.Thread(
        target=lambda: results.setdefault("first", services.sync_stock_from_warehouse())
    )
    first.start()
    assert first_run_waiting.wait(10)

    results["second"] = services.sync_stock_from_warehouse()
    let_it_answer.set()
    first.join(10)

    assert results["second"]["skipped"] is True
    assert results["first"]["skipped"] is False and results["first"]["updated"] == 1
    assert pages_served == [1]  # the warehouse was asked once
    assert stock(beans) == 8
