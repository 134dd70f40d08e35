"""Cart, checkout and order pages. Views parse input, call one service, render."""

from django.conf import settings
from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from storages.backends.s3 import S3Storage

from inventory.errors import InventoryError, UnknownProduct

from .access import get_order_for_request, remember_order
from .cart import Cart, parse_quantity
from .checkout_variants import place_order_variant
from .errors import OrderError
from .forms import CheckoutForm
from .models import Order
from .selectors import order_progress

# How long a signed invoice link from S3 works: long enough to follow the
# redirect, short enough that a shared link soon stops working.
INVOICE_LINK_SECONDS = 300


def _back(request, default="orders:cart"):
    """Back to the page a cart form came from (its `next` field), if it is ours."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default)


def _cart_error(request, error: Exception):
    """Show the cart again with the error; nothing in it has changed."""
    messages.error(request, str(error))
    lines = Cart(request.session).lines()
    status = 404 if isinstance(error, UnknownProduct) else 400
    context = {"lines": lines, "total": Cart.total(lines)}
    return render(request, "orders/cart.html", context, status=status)


@require_GET
def cart(request):
    lines = Cart(request.session).lines()
    return render(request, "orders/cart.html", {"lines": lines, "total": Cart.total(lines)})


@require_POST
def cart_add(request):
    cart = Cart(request.session)
    try:
        quantity = parse_quantity(request.POST.get("quantity", "1"))
        product = cart.add(product_id=request.POST.get("product_id"), quantity=quantity)
    except (InventoryError, OrderError) as error:
        return _cart_error(request, error)
    messages.success(request, f"Added {quantity} x {product.name} to your cart.")
    return _back(request)


@require_POST
def cart_update(request, product_id: int):
    cart = Cart(request.session)
    try:
        quantity = parse_quantity(request.POST.get("quantity"))
        cart.update(product_id=product_id, quantity=quantity)
    except (InventoryError, OrderError) as error:
        return _cart_error(request, error)
    return redirect("orders:cart")


@require_POST
def cart_remove(request, product_id: int):
    Cart(request.session).remove(product_id=product_id)
    return redirect("orders:cart")


@require_http_methods(["GET", "POST"])
def checkout(request):
    cart = Cart(request.session)
    initial = {}
    if request.user.is_authenticated:
        initial = {"email": request.user.email, "full_name": request.user.get_full_name()}
    form = CheckoutForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if not cart:
            messages.error(request, "Your cart is empty.")
        elif form.is_valid():
            try:
                order = place_order_variant(
                    settings.ORDERLY_BENCH_CHECKOUT_MODE,
                    quantities=cart.quantities(),
                    customer=request.user,
                    **form.cleaned_data,
                )
            except (InventoryError, OrderError) as error:
                messages.error(request, str(error))
                status = 409
            else:
                cart.clear()
                remember_order(request, order)
                return redirect(order)
    lines = cart.lines()
    context = {"form": form, "lines": lines, "total": Cart.total(lines)}
    return render(request, "orders/checkout.html", context, status=status)


@require_GET
def order_detail(request, public_id):
    order = get_order_for_request(
        request, public_id, queryset=Order.objects.prefetch_related("items")
    )
    return render(request, "orders/order.html", {"order": order, "progress": order_progress(order)})


@require_GET
def order_status(request, public_id):
    """The order's steps as JSON, polled by the order page until all are final."""
    order = get_order_for_request(request, public_id)
    response = JsonResponse(order_progress(order))
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def invoice_download(request, public_id):
    order = get_order_for_request(request, public_id)
    invoice = getattr(order, "invoice", None)
    if invoice is None:
        raise Http404("The invoice is not ready yet.")
    filename = f"{invoice.number}.pdf"
    if isinstance(default_storage, S3Storage):
        # The bucket serves the bytes: the web process hands out a signed link
        # that stops working after INVOICE_LINK_SECONDS instead of streaming.
        url = default_storage.url(
            invoice.file.name,
            parameters={
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
                "ResponseContentType": "application/pdf",
            },
            expire=INVOICE_LINK_SECONDS,
        )
        return redirect(url)
    return FileResponse(
        default_storage.open(invoice.file.name, "rb"),
        as_attachment=True,
        filename=filename,
        content_type="application/pdf",
    )
