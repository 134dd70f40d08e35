"""The shopper's pages: catalog, cart, checkout, order. Parse input, call one service, render."""

import hashlib
import json

from django.contrib import messages
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from storages.backends.s3 import S3Storage

from inventory.errors import InventoryError, UnknownProduct
from inventory.models import Product
from jobs.errors import TemporaryError
from orders import services
from orders.access import get_order_for_request, remember_order
from orders.cart import Cart, parse_quantity
from orders.errors import GATEWAY_UNREACHABLE, OrderError, PaymentMethodUnusable
from orders.forms import CardForm, CheckoutForm
from orders.models import Order

from .progress import order_progress, poll_seconds

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


def _confirmed_card(form):
    """The form's card token as the gateway confirms it, or None with the error on the form.

    A token that cannot pay (unknown, another shop's, used, expired) or a
    gateway that cannot be reached leaves the error next to the card field.
    """
    try:
        return services.confirm_payment_method(token=form.cleaned_data["payment_method"])
    except PaymentMethodUnusable as error:
        form.add_error("payment_method", str(error))
    except TemporaryError:
        form.add_error("payment_method", GATEWAY_UNREACHABLE)
    return None


def catalog(request):
    category = request.GET.get("category", "")
    products = Product.objects.filter(is_active=True)
    categories = products.order_by("category").values_list("category", flat=True).distinct()
    if category:
        products = products.filter(category=category)
    return render(
        request,
        "inventory/catalog.html",
        {"products": products, "categories": categories, "current_category": category},
    )


def product_detail(request, slug):
    product = get_object_or_404(Product, slug=slug, is_active=True)
    return render(request, "inventory/product.html", {"product": product})


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
        elif form.is_valid() and (card := _confirmed_card(form)):
            details = {k: v for k, v in form.cleaned_data.items() if k != "payment_method"}
            try:
                order = services.place_order(
                    quantities=cart.quantities(),
                    customer=request.user,
                    payment_method=card,
                    **details,
                )
            except PaymentMethodUnusable as error:
                form.add_error("payment_method", str(error))
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


def _progress_context(order) -> tuple[dict, str]:
    """What the order page's changing parts show, and its ETag.

    The ETag covers the steps and the next poll's delay, so an update is sent
    when either changes; the page sends it back with its next poll.
    """
    progress = order_progress(order)
    seconds = poll_seconds(order, progress)
    state = json.dumps(
        {"progress": progress, "poll_seconds": seconds}, cls=DjangoJSONEncoder, sort_keys=True
    )
    etag = f'"{hashlib.sha256(state.encode()).hexdigest()[:32]}"'
    poll = {
        "seconds": seconds,
        "url": reverse("orders:progress", kwargs={"public_id": order.public_id}),
        "headers": json.dumps({"If-None-Match": etag}),
    }
    return {"order": order, "progress": progress, "poll": poll}, etag


def _order_page(request, order, *, pay_again_form=None, status=200):
    context, _ = _progress_context(order)
    context["pay_again_form"] = pay_again_form or CardForm()
    return render(request, "orders/order.html", context, status=status)


@require_GET
def order_detail(request, public_id):
    order = get_order_for_request(
        request, public_id, queryset=Order.objects.prefetch_related("items")
    )
    return _order_page(request, order)


@require_POST
def pay_again(request, public_id):
    """Pay for a declined order with another card (CSRF-protected, owner only)."""
    order = get_order_for_request(
        request, public_id, queryset=Order.objects.prefetch_related("items")
    )
    form = CardForm(request.POST)
    if not form.is_valid() or not (card := _confirmed_card(form)):
        return _order_page(request, order, pay_again_form=form, status=400)
    try:
        services.pay_again(order_id=order.pk, payment_method=card)
    except (InventoryError, OrderError) as error:
        messages.error(request, str(error))
        order.refresh_from_db()
        return _order_page(request, order, status=409)
    return redirect(order)


@require_GET
def order_progress_fragment(request, public_id):
    """The order page's changing parts as HTML, which htmx swaps into the page.

    Rendered by the page's own templates (orders/progress/), with the delay
    before the next poll, and without it once every step is final. Answers
    If-None-Match with 304 when nothing changed since the last poll.
    """
    order = get_order_for_request(request, public_id)
    context, etag = _progress_context(order)
    response = get_conditional_response(request, etag=etag) or render(
        request, "orders/order_progress.html", context
    )
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


@require_GET
def order_status(request, public_id):
    """The order's steps as JSON, for API clients and scripts (the order page uses the fragment).

    Answers If-None-Match with 304 when nothing changed since the last poll.
    """
    order = get_order_for_request(request, public_id)
    body = json.dumps(order_progress(order), cls=DjangoJSONEncoder, sort_keys=True).encode()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    response = get_conditional_response(request, etag=etag) or HttpResponse(
        body, content_type="application/json"
    )
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
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
                # Quoted and RFC 5987-encoded by Django, as FileResponse does below.
                "ResponseContentDisposition": content_disposition_header(True, filename),
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
