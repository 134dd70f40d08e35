"""System checks for the task infrastructure (run by `manage.py check` and at every start)."""

from django.core import checks

from .timers import timer_problems

TIMERS_TAG = "orderly_timers"


def timer_errors(problems: list[str], *, id: str) -> list[checks.Error]:
    """Check errors for timers that break their required order."""
    hint = "See 'Timers, and the order they must keep' in project/settings.py."
    return [checks.Error(problem, hint=hint, id=id) for problem in problems]


@checks.register(TIMERS_TAG)
def check_timer_order(app_configs=None, **kwargs):
    """Refuse task and broker timers that break their required order."""
    return timer_errors(timer_problems(), id="jobs.E001")
