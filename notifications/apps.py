from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self):
        from jobs import requeue

        from . import receivers  # noqa: F401 (connects the hooks of the apps below)
        from .services import webhook_delivery

        requeue.register_preparer(
            "notifications.deliver_webhook", webhook_delivery.reopen_for_requeue
        )
