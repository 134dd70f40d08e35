"""orders.checks: the charge's timers keep the order project/settings.py states."""

from jobs.checks import TIMERS_TAG
from orders.checks import check_charge_timers
from tests.processes import manage_check


def test_the_shipped_timers_keep_the_charge_order():
    assert check_charge_timers() == []


def test_gateway_timeouts_as_long_as_the_charges_soft_limit_are_refused(settings):
    settings.PAYMENT_GATEWAY_TIMEOUT = (5.0, 25.0)  # 30 s: the charge's soft limit

    errors = check_charge_timers()

    assert [error.id for error in errors] == ["orders.E001"]
    assert "connect 5s + read 25s" in errors[0].msg
    assert "soft time limit (30s)" in errors[0].msg


def test_a_worker_start_refuses_a_read_timeout_past_the_soft_limit():
    """The real start-up path: `manage.py check` with the variable a deployment sets."""
    result = manage_check(TIMERS_TAG, PAYMENT_GATEWAY_READ_TIMEOUT="40")
    assert result.returncode != 0
    assert "orders.E001" in result.stderr
    assert "read 40s" in result.stderr
