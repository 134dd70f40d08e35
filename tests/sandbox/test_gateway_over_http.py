"""The gateway client against the sandbox gateway over real HTTP (live server)."""

from decimal import Decimal

import pytest
import requests

from jobs.errors import PermanentError, TemporaryError
from orders import gateway
from orders.errors import PaymentDeclined
from sandbox.models import GatewayCharge
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandbox(live_server, settings):
    settings.PAYMENT_GATEWAY_URL = f"{live_server.url}/sandbox/gateway"
    return settings.PAYMENT_GATEWAY_URL


def charge(card="4242424242424242", key="key-1"):
    return gateway.charge(
        amount=Decimal("10.00"),
        currency="EUR",
        card_number=card,
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
        charge(card="")


def test_wrong_api_key_is_refused(sandbox):
    response = requests.post(
        f"{sandbox}/charges",
        json={"amount": "1", "currency": "EUR", "card_number": "4242424242424242"},
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
        (b'{"amount": "x", "currency": "EUR", "card_number": "1"}', {"Idempotency-Key": "k"}, 400),
        (b'{"amount": "1", "currency": "EUR", "card_number": "4242"}', {}, 400),
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
