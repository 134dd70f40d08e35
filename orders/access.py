"""Who may see an order: its signed-in owner, or the browser session that placed it."""

from django.http import Http404

from .models import Order

SESSION_KEY = "orders"


def session_order_ids(request) -> list[str]:
    return list(request.session.get(SESSION_KEY, []))


def remember_order(request, order: Order) -> None:
    """Let this browser session see the order it just placed (guest or not)."""
    request.session[SESSION_KEY] = [*session_order_ids(request), str(order.public_id)][-50:]


def get_order_for_request(request, public_id, *, queryset=None) -> Order:
    """The order, if this request may see it; 404 otherwise (existence is not revealed)."""
    queryset = queryset if queryset is not None else Order.objects.all()
    try:
        order = queryset.get(public_id=public_id)
    except Order.DoesNotExist:
        raise Http404("No such order.") from None
    owns = request.user.is_authenticated and order.customer_id == request.user.pk
    placed_here = str(order.public_id) in session_order_ids(request)
    if not (owns or placed_here):
        raise Http404("No such order.")
    return order
