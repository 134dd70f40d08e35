"""The checkout variants the benchmarks compare (settings.ORDERLY_BENCH_CHECKOUT_MODE).

- "orderly" (the default, and the only one a shop runs): place the order; the
  pipeline is published through the outbox after commit.
- "floor": the same order, items and payment rows, and nothing enqueued. It
  is the fastest this view can be on this machine.
- "inline": the pattern Orderly replaces. The request itself charges the
  card, sends the confirmation email and renders and stores the invoice.
"""

from jobs.services import publishing_disabled

from . import services

VARIANTS = ("orderly", "floor", "inline")


def place_order_variant(variant: str, **order) -> "services.Order":
    if variant == "orderly":
        return services.place_order(**order)
    with publishing_disabled():
        placed = services.place_order(**order)
        if variant == "inline":
            from notifications.services import send_order_confirmation
            from reports.services import generate_invoice

            services.charge_order(order_id=placed.pk)
            send_order_confirmation(order_id=placed.pk)
            generate_invoice(order_id=placed.pk)
    return placed
