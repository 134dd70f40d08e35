"""What an operator needs to know about a failed webhook delivery's dead letter."""

from dataclasses import dataclass

from jobs.models import DeadLetter
from notifications.models import WebhookDelivery


@dataclass
class WebhookFailure:
    delivery: WebhookDelivery
    endpoint_url: str
    endpoint_active: bool
    status_code: int | None
    reason: str

    @property
    def summary(self) -> str:
        status = f"HTTP {self.status_code}" if self.status_code else "no HTTP answer"
        disabled = " (endpoint disabled)" if not self.endpoint_active else ""
        return f"{self.endpoint_url}{disabled}: {status}: {self.reason}"


def webhook_failure(dead_letter: DeadLetter) -> WebhookFailure | None:
    """The endpoint, last status code and reason behind a webhook delivery's dead letter."""
    kind, _, key = dead_letter.reference.partition(":")
    if kind != "webhookdelivery" or not key.isdigit():
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=int(key)).first()
    if delivery is None:
        return None
    last = delivery.attempts_log.order_by("-attempted_at", "-pk").first()
    return WebhookFailure(
        delivery=delivery,
        endpoint_url=delivery.endpoint.url,
        endpoint_active=delivery.endpoint.is_active,
        status_code=last.status_code if last else None,
        reason=(last.error if last and last.error else "") or delivery.last_error or "-",
    )
