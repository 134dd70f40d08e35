"""Task metric labels stay bounded, and a bad publish-time header is ignored, not fatal."""

from types import SimpleNamespace

from ops.task_metrics import QUEUE_WAIT, labels, on_prerun, parse_published_at


def test_unknown_task_and_queue_names_become_other():
    assert labels("orders.charge_payment", "payments") == ("orders.charge_payment", "payments")
    assert labels("ada@example.com", "my-own-queue") == ("other", "other")
    assert labels(None, None) == ("other", "other")


def test_a_missing_or_malformed_publish_time_is_ignored():
    assert parse_published_at("1795326060.5") == 1795326060.5
    for bad in (None, "", "yesterday", "-5", "0", ["1"]):
        assert parse_published_at(bad) is None


def test_a_task_with_a_malformed_publish_header_is_counted_without_a_queue_wait():
    task = SimpleNamespace(
        name="orders.charge_payment",
        request=SimpleNamespace(
            delivery_info={"routing_key": "payments"}, orderly_published_at="garbage", headers={}
        ),
    )
    before = queue_wait_count()
    on_prerun(task_id="t-1", task=task)
    assert queue_wait_count() == before


def queue_wait_count() -> float:
    return sum(
        sample.value
        for family in QUEUE_WAIT.collect()
        for sample in family.samples
        if sample.name.endswith("_count") and sample.labels.get("queue") == "payments"
    )
