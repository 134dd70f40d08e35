from django import template

from jobs.models import PausedQueue
from notifications.models import WebhookEndpoint

register = template.Library()


@register.simple_tag
def paused_queues() -> list[PausedQueue]:
    return list(PausedQueue.objects.select_related("paused_by"))


@register.simple_tag
def disabled_webhook_endpoints() -> list[WebhookEndpoint]:
    return list(WebhookEndpoint.objects.filter(is_active=False).order_by("disabled_at", "pk"))
