"""Order events, for the apps above orders that act on them (webhooks).

orders sits below notifications in the layers (docs/architecture.md, Layers), so it
cannot call the webhook code. notifications connects a receiver to
`order_event` in its AppConfig.ready instead. Receivers run inside the
transaction that changes the order, so what they write commits or rolls
back with it, and a receiver that raises rolls the change back (`send`,
not `send_robust`: an event is never dropped silently).
"""

from django.dispatch import Signal

# Sent with order=<Order>, event_type="order.paid" (see notifications' EVENT_TYPES).
order_event = Signal()


def emit_order_event(*, order, event_type: str) -> None:
    """Announce `event_type` for `order`. Call inside the transaction that makes the change."""
    order_event.send(sender=type(order), order=order, event_type=event_type)
