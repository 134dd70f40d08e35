from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self):
        from . import (
            checks,  # noqa: F401 (registers the system checks)
            receivers,  # noqa: F401 (connects the hooks of the apps below orders)
        )
