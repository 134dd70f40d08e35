"""System checks for the orders app: its timers keep the order settings.py states."""

from django.conf import settings
from django.core import checks

from jobs.checks import TIMERS_TAG, timer_errors
from jobs.timers import hard_time_limit, retry_span, soft_time_limit_seconds


def charge_timer_problems() -> list[str]:
    """Where the abandoned-order delay, in-flight window or gateway timeouts race the charge."""
    from .tasks import charge_payment as charge

    visibility = settings.CELERY_VISIBILITY_TIMEOUT
    abandoned = settings.ORDERLY_ABANDONED_ORDER_SECONDS
    span = retry_span(charge)
    problems = []
    if span + visibility >= abandoned:
        problems.append(
            f"the abandoned-order delay ({abandoned:g}s) is not longer than a charge's whole "
            f"retry span ({span:g}s) plus the visibility timeout ({visibility:g}s): "
            "orders would be given up on while their charge can still run"
        )
    if hard_time_limit(charge) >= settings.ORDERLY_CHARGE_IN_FLIGHT_SECONDS:
        problems.append(
            f"the charge in-flight window ({settings.ORDERLY_CHARGE_IN_FLIGHT_SECONDS:g}s) is "
            f"not longer than the charge task's hard time limit ({hard_time_limit(charge):g}s)"
        )
    connect, read = settings.PAYMENT_GATEWAY_TIMEOUT
    soft = soft_time_limit_seconds(charge)
    if soft and connect + read >= soft:
        problems.append(
            f"the payment gateway's timeouts (connect {connect:g}s + read {read:g}s) are not "
            f"shorter than the charge task's soft time limit ({soft:g}s): a gateway that does "
            "not answer would stop the attempt at the limit instead of timing out"
        )
    return problems


@checks.register(TIMERS_TAG)
def check_charge_timers(app_configs=None, **kwargs):
    """Refuse an abandoned-order delay, in-flight window or gateway timeout racing the charge."""
    return timer_errors(charge_timer_problems(), id="orders.E001")
