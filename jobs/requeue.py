"""What a requeue promises: the work is redone, or the operator is told why not.

A dead letter's task message is only half of what a requeue needs. The task
failed for good, so its business object is usually in a final state (a
failed webhook delivery, a payment given up on) and an idempotent task
replayed as it was would skip it and "succeed" having done nothing. So:

- Each app registers a *preparer* for its tasks (`register_preparer`, in its
  AppConfig.ready). The requeue service calls it in the transaction that
  records the requeue: it makes the object runnable again (a new attempt on
  the delivery) and returns the arguments to publish, or raises
  `RequeueRefused` with the reason (the object is gone, or already done).
  Nothing else in jobs/ knows any app's tasks.
- A task that runs but does no work returns `NothingDone(reason)`. The base
  task resolves a requeued dead letter only on another return value; on
  NothingDone the letter is reopened with the reason.
"""

from collections.abc import Callable

Arguments = tuple[list, dict]
Preparer = Callable[[list, dict], Arguments]

_preparers: dict[str, Preparer] = {}


class RequeueRefused(Exception):
    """This dead letter's work cannot be redone now; the message says why."""


class NothingDone(str):
    """A task's result when it found its work already done, not due, or not possible.

    It is the reason, as a str: results store it and logs show it as its text.
    """


def register_preparer(task_name: str, preparer: Preparer) -> None:
    """Make `preparer(args, kwargs) -> (args, kwargs)` run before each requeue of `task_name`."""
    if _preparers.get(task_name, preparer) is not preparer:
        raise ValueError(f"{task_name} already has a requeue preparer")
    _preparers[task_name] = preparer


def prepare(task_name: str, args: list, kwargs: dict) -> Arguments:
    """The arguments to publish for a requeue of `task_name`; raises RequeueRefused."""
    preparer = _preparers.get(task_name)
    return preparer(list(args), dict(kwargs)) if preparer else (list(args), dict(kwargs))
