"""The web layer's own metrics: latency and status per view, never per path."""

import uuid

import pytest
from prometheus_client import REGISTRY

pytestmark = pytest.mark.django_db

METRIC = "orderly_http_request_duration_seconds"


def count(**labels) -> float:
    return REGISTRY.get_sample_value(f"{METRIC}_count", labels) or 0.0


def every_label_value() -> set[str]:
    return {
        value
        for family in REGISTRY.collect()
        if family.name == METRIC
        for sample in family.samples
        for value in sample.labels.values()
    }


def test_a_request_is_counted_under_its_view_name_method_and_status_never_its_path(client):
    public_id = uuid.uuid4()
    before = count(view="orders:detail", method="GET", status="404")

    assert client.get(f"/orders/{public_id}/").status_code == 404

    assert count(view="orders:detail", method="GET", status="404") == before + 1
    assert not [value for value in every_label_value() if str(public_id) in value]


def test_no_route_and_unknown_methods_get_bounded_labels(client):
    unresolved = count(view="unresolved", method="GET", status="404")
    other = count(view="ops:healthz", method="other", status="405")

    client.get("/no-such-page/")
    client.generic("BREW", "/healthz")

    assert count(view="unresolved", method="GET", status="404") == unresolved + 1
    assert count(view="ops:healthz", method="other", status="405") == other + 1


def test_the_latency_lands_in_the_histogram_buckets(client):
    labels = {"view": "ops:healthz", "method": "GET", "status": "200"}
    before = REGISTRY.get_sample_value(f"{METRIC}_bucket", {**labels, "le": "+Inf"}) or 0.0

    client.get("/healthz")

    assert REGISTRY.get_sample_value(f"{METRIC}_bucket", {**labels, "le": "+Inf"}) == before + 1
    assert REGISTRY.get_sample_value(f"{METRIC}_sum", labels) > 0
