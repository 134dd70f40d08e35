"""The operator's console: extends other apps' admin pages from the top layer.

- orders: the order page shows its timeline; search finds an order by
  number, UUID or task id (console.admin.orders);
- dead letters: triage by cause, requeue or resolve all matching a filter,
  webhook failures in full (console.admin.dead_letters);
- queues: pause and resume consumption on every worker (console.admin.queues).
"""

from . import dead_letters, orders, queues  # noqa: F401 (registers the admin classes)
