"""The sandbox page's warehouse controls: what a developer uses to watch the stock sync."""

import pytest
from django.urls import reverse

from sandbox.models import WarehouseItem, WarehouseOutage
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_page_lists_what_the_warehouse_has_for_each_catalog_sku(client):
    beans = ProductFactory(sku="COF-001", stock=7)

    page = client.get(reverse("sandbox:index"))

    assert page.status_code == 200
    assert "COF-001" in page.content.decode()
    assert WarehouseItem.objects.get(sku=beans.sku).on_hand == 7


def test_developer_changes_on_hand_and_starts_and_ends_an_outage(client):
    ProductFactory(sku="COF-001", stock=7)
    client.get(reverse("sandbox:index"))

    client.post(reverse("sandbox:warehouse_set_on_hand"), {"sku": "COF-001", "on_hand": "12"})
    assert WarehouseItem.objects.get(sku="COF-001").on_hand == 12

    client.post(reverse("sandbox:warehouse_outage"), {"action": "start"})
    assert WarehouseOutage.objects.get().failures_left is None
    assert "Outage on" in client.get(reverse("sandbox:index")).content.decode()
    client.post(reverse("sandbox:warehouse_outage"), {"action": "end"})
    assert not WarehouseOutage.objects.exists()


@pytest.mark.parametrize(
    "form",
    [{"sku": "COF-001", "on_hand": "-1"}, {"sku": "NOPE", "on_hand": "3"}, {"sku": "COF-001"}],
)
def test_bad_on_hand_input_is_explained_and_changes_nothing(client, form):
    ProductFactory(sku="COF-001", stock=7)
    client.get(reverse("sandbox:index"))

    response = client.post(reverse("sandbox:warehouse_set_on_hand"), form, follow=True)

    assert "Pick a known SKU and a quantity of 0 or more." in response.content.decode()
    assert WarehouseItem.objects.get(sku="COF-001").on_hand == 7
    assert not WarehouseItem.objects.filter(sku="NOPE").exists()
