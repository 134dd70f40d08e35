"""The gateway client against the sandbox gateway over real HTTP (live server)."""

from decimal import Decimal

import pytest
import requests

from jobs.errors import PermanentError, TemporaryError
from orders import gateway
from orders.errors import PaymentDeclined
from sandbox.models import GatewayCharge, GatewayRefund
from tests.helpers import sandbox_payment_method, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandbox(live_server, settings):
    settings.PAYMENT_GATEWAY_URL = f"{live_server.url}/sandbox/gateway"
    return settings.PAYMENT_GATEWAY_URL


def charge(card="4242424242424242", key="key-1", *, token=None):
    """Charge a fresh token for `card` (made in the sandbox, as a browser would), or `token`."""
    return gateway.charge(
        amount=Decimal("10.00"),
        currency="EUR",
        payment_method=sandbox_payment_method(card).token if token is None else token,
        idempotency_key=key,
        reference="test",
    )


def test_same_idempotency_key_charges_once_and_replays_the_answer(sandbox):
    first = charge(key="same")
    second = charge(key="same")
    assert first == second
    assert GatewayCharge.objects.filter(idempotency_key="same").count() == 1


def test_decline_is_permanent(sandbox):
    with pytest.raises(PaymentDeclined, match="declined"):
        charge(card="4000000000000002")


def test_unavailable_card_is_temporary_with_retry_after_then_succeeds(sandbox):
    for _ in range(2):
        with pytest.raises(TemporaryError) as caught:
            charge(card="4000000000000119", key="flaky")
        assert caught.value.retry_after == 1.0
    assert charge(card="4000000000000119", key="flaky").charge_id.startswith("ch_")


def test_slow_gateway_times_out_as_temporary_and_the_retry_replays_its_charge(sandbox, settings):
    settings.PAYMENT_GATEWAY_TIMEOUT = (1.0, 0.2)
    with pytest.raises(TemporaryError, match="timed out"):
        charge(card="4000000000000259", key="slow")
    # The gateway finished the charge after we stopped waiting: a timeout is
    # not a failure, which is why every retry sends the same key.
    charged = wait_for(
        lambda: GatewayCharge.objects.filter(idempotency_key="slow").first(),
        timeout=5,
        what="the sandbox to finish the slow charge",
    )
    settings.PAYMENT_GATEWAY_TIMEOUT = (1.0, 5.0)
    assert charge(card="4000000000000259", key="slow").charge_id == charged.charge_id


def test_unreachable_gateway_is_temporary(settings):
    settings.PAYMENT_GATEWAY_URL = "http://127.0.0.1:9/gateway"
    with pytest.raises(TemporaryError, match="unreachable"):
        charge()


def test_a_4xx_other_than_decline_is_permanent(sandbox):
    with pytest.raises(PermanentError, match="400"):
        charge(token="")


def test_wrong_api_key_is_refused(sandbox):
    response = requests.post(
        f"{sandbox}/charges",
        json={"amount": "1", "currency": "EUR", "payment_method": "pm_anything"},
        headers={"Authorization": "Bearer sk_wrong", "Idempotency-Key": "k"},
        timeout=5,
    )
    assert response.status_code == 401
    assert not GatewayCharge.objects.exists()


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"{not json", {"Idempotency-Key": "k"}, 400),
        (b"[1, 2]", {"Idempotency-Key": "k"}, 400),
        (
            b'{"amount": "x", "currency": "EUR", "payment_method": "pm_x"}',
            {"Idempotency-Key": "k"},
            400,
        ),
        (
            b'{"amount": "1", "currency": "EUR", "payment_method": 4242}',
            {"Idempotency-Key": "k"},
            400,
        ),
        (b'{"amount": "1", "currency": "EUR", "payment_method": "pm_x"}', {}, 400),
    ],
)
def test_malformed_requests_get_a_clear_400(sandbox, body, headers, status):
    response = requests.post(
        f"{sandbox}/charges",
        data=body,
        headers={"Authorization": "Bearer sk_test_sandbox", **headers},
        timeout=5,
    )
    assert response.status_code == status
    assert response.json()["message"]
    assert not GatewayCharge.objects.exists()


# --- What happened to a key, and refunds -------------------------------------------


def test_lookup_of_a_key_never_used_confirms_nothing_was_charged(sandbox):
    assert gateway.find_charge(idempotency_key="never-used").outcome == "none"


def test_lookup_finds_the_charge_made_with_the_key(sandbox):
    charged = charge(key="looked-up")
    found = gateway.find_charge(idempotency_key="looked-up")
    assert (found.outcome, found.charge_id, found.amount, found.currency) == (
        "charged", charged.charge_id, Decimal("10.00"), "EUR",
    )  # fmt: skip


def test_lookup_of_a_declined_key_says_declined(sandbox):
    with pytest.raises(PaymentDeclined):
        charge(card="4000000000000002", key="declined")
    assert gateway.find_charge(idempotency_key="declined").outcome == "declined"


def test_lookup_while_a_charge_with_the_key_is_in_progress_is_not_an_answer(sandbox, settings):
    settings.PAYMENT_GATEWAY_TIMEOUT = (1.0, 0.2)
    with pytest.raises(TemporaryError, match="timed out"):
        charge(card="4000000000000259", key="in-progress")  # the sandbox keeps going for 1 s
    with pytest.raises(TemporaryError, match="still processing"):
        gateway.find_charge(idempotency_key="in-progress")
    wait_for(
        lambda: GatewayCharge.objects.filter(idempotency_key="in-progress").exists(),
        timeout=5,
        what="the sandbox to finish the slow charge",
    )
    assert gateway.find_charge(idempotency_key="in-progress").outcome == "charged"


def test_refund_is_made_once_per_key_and_once_per_charge(sandbox):
    charged = charge(key="to-refund")
    first = gateway.refund(charge_id=charged.charge_id, idempotency_key="refund-1")
    assert gateway.refund(charge_id=charged.charge_id, idempotency_key="refund-1") == first
    # Another key for the same charge gets the existing refund back, not a second one.
    assert gateway.refund(charge_id=charged.charge_id, idempotency_key="refund-2") == first
    assert GatewayRefund.objects.count() == 1
    assert gateway.find_charge(idempotency_key="to-refund").refunded is True


def test_refund_of_a_declined_or_unknown_charge_is_refused(sandbox):
    with pytest.raises(PaymentDeclined):
        charge(card="4000000000000002", key="declined-refund")
    declined = GatewayCharge.objects.get(idempotency_key="declined-refund")
    with pytest.raises(PermanentError, match="declined charge"):
        gateway.refund(charge_id=declined.charge_id, idempotency_key="r-declined")
    with pytest.raises(PermanentError, match="No such charge"):
        gateway.refund(charge_id="ch_nope", idempotency_key="r-unknown")
    assert not GatewayRefund.objects.exists()


def test_lookup_needs_the_api_key_and_a_key_to_look_up(sandbox):
    url = f"{sandbox}/charges"
    assert requests.get(url, params={"idempotency_key": "k"}, timeout=5).status_code == 401
    answer = requests.get(url, headers={"Authorization": "Bearer sk_test_sandbox"}, timeout=5)
    assert answer.status_code == 400
    assert answer.json()["message"] == "idempotency_key is required"


def test_a_lookup_answered_with_garbage_is_unclear_not_none(live_server, settings):
    # Something that is not the gateway answers: an HTML 404 page, not JSON.
    settings.PAYMENT_GATEWAY_URL = f"{live_server.url}/sandbox"
    with pytest.raises(gateway.UnclearAnswer):
        gateway.find_charge(idempotency_key="k")


def test_a_lookup_of_an_unreachable_gateway_is_temporary(settings):
    settings.PAYMENT_GATEWAY_URL = "http://127.0.0.1:9/gateway"
    with pytest.raises(TemporaryError, match="unreachable"):
        gateway.find_charge(idempotency_key="k")
