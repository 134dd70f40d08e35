"""Database connections in workers: kept from task to task, checked as Django checks them.

Celery's Django fixup closes every database connection before and after each
task, so every task paid for a new PostgreSQL connection (a backend process
forked on the server, authentication, session setup): about as much CPU as
the task's own queries. With CELERY_DB_REUSE_MAX set (settings), the fixup
leaves them open and these handlers do what Django does around a request:
close a connection that is past DATABASE_CONN_MAX_AGE, broken, or left in
error, and health-check it before reuse (CONN_HEALTH_CHECKS).

In green pools (gevent) each task runs in its own greenlet with its own
connection, which would outlive the greenlet unclosed: those are closed
when the task ends, as before.
"""

from django.db import close_old_connections, connections

from .time_limits import running_green


def before_task(**kwargs) -> None:
    close_old_connections()


def after_task(**kwargs) -> None:
    if running_green():
        connections.close_all()
    else:
        close_old_connections()
