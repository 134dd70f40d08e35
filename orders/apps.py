from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self):
        from jobs import requeue as jobs_requeue
        from jobs.services import overdue as jobs_overdue

        from . import (
            checks,  # noqa: F401 (registers the system checks)
            overdue,
            receivers,  # noqa: F401 (connects the hooks of the apps below orders)
            requeue,
        )

        jobs_requeue.register_preparer("orders.charge_payment", requeue.charge_again)
        jobs_overdue.register_finder("orders.charges", overdue.overdue_charges)
