"""The checkout variants the benchmarks compare. The shop itself only ever runs "orderly".

- "orderly": the shop's checkout; the pipeline is published through the
  outbox after commit.
- "floor": the same order, items and payment rows, and nothing recorded in
  the outbox or enqueued. It is the fastest this view can be on this machine.
- "inline": the pattern Orderly replaces. The request itself charges the
  card, sends the confirmation e-mail and renders and stores the invoice.

A benchmark web process runs with `DJANGO_SETTINGS_MODULE=bench.settings`
and `BENCH_CHECKOUT_VARIANT`; `bench.apps` installs the variant over
`orders.services` when Django starts. The shop's code knows nothing of this.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from notifications.services import emails
from orders import services
from reports.services import invoices

VARIANTS = ("orderly", "floor", "inline")
_shop_place_order = services.place_order


def _publish_nothing(sig, *, reference=""):
    return None


def _place_order_inline(**order):
    placed = _shop_place_order(**order)
    services.charge_order(order_id=placed.pk)
    emails.send_order_confirmation(order_id=placed.pk)
    invoices.generate_invoice(order_id=placed.pk)
    return placed


@contextmanager
def variant_installed(variant: str) -> Iterator[None]:
    """Within the block, checkout (orders.services.place_order) runs `variant`."""
    if variant not in VARIANTS:
        raise ValueError(f"checkout variant must be one of {VARIANTS}, not {variant!r}")
    if variant == "orderly":
        yield
        return
    place_order = _place_order_inline if variant == "inline" else _shop_place_order
    with (
        mock.patch.object(services, "publish_on_commit", _publish_nothing),
        mock.patch.object(services, "place_order", place_order),
    ):
        yield


_installed = []


def install(variant: str) -> None:
    """For the whole life of this process (a benchmark web process), run `variant`."""
    installed = variant_installed(variant)
    installed.__enter__()
    # Keep the context manager alive: once garbage-collected, its generator is
    # closed and the patches undone, and every variant silently ran "orderly".
    _installed.append(installed)
