from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self):
        from jobs import requeue
        from jobs.services import overdue as jobs_overdue

        from . import (
            overdue,
            receivers,  # noqa: F401 (connects the hooks of the apps below)
        )
        from .services import webhook_delivery

        jobs_overdue.register_finder("notifications.order_emails", overdue.overdue_order_emails)
        requeue.register_preparer(
            "notifications.deliver_webhook", webhook_delivery.reopen_for_requeue
        )
