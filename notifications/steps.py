"""The tasks the notifications app publishes, by name (services never import tasks)."""

from celery import signature
from celery.canvas import Signature

DISPATCH_WEBHOOKS = "notifications.dispatch_webhooks"
DELIVER_WEBHOOK = "notifications.deliver_webhook"

TASK_NAMES = (DISPATCH_WEBHOOKS, DELIVER_WEBHOOK)


def dispatch_webhooks(delivery_ids: list[int]) -> Signature:
    """Publish one send task per open delivery among `delivery_ids`."""
    return signature(DISPATCH_WEBHOOKS, args=(delivery_ids,), immutable=True)


def deliver_webhook(delivery_id: int, attempt: int) -> Signature:
    """Send one delivery once; a no-op once its attempt count has moved on."""
    return signature(DELIVER_WEBHOOK, args=(delivery_id, attempt), immutable=True)
