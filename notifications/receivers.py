"""What notifications does when the apps below it announce something (see NotificationsConfig)."""

from django.dispatch import receiver

from orders.events import order_event

from .services import webhooks


@receiver(order_event, dispatch_uid="notifications.webhooks")
def record_webhook_deliveries(sender, *, order, event_type, **kwargs) -> None:
    """One webhook delivery per subscribed endpoint, in the order change's transaction."""
    webhooks.emit_order_event(order=order, event_type=event_type)
