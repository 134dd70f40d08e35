"""HTTP endpoints of the sandbox stand-ins. Mounted only when SANDBOX_ENABLED."""

import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from safetext.validators import first_control_character, is_ascii_digits

from . import client_input, gateway, warehouse
from .client_input import BadRequest
from .models import GatewayCharge, WarehouseItem, WarehouseOutage


def _authorized(request) -> bool:
    expected = f"Bearer {settings.PAYMENT_GATEWAY_API_KEY}"
    return secrets.compare_digest(request.headers.get("Authorization", ""), expected)


def _respond(answer: gateway.Answer) -> JsonResponse:
    response = JsonResponse(answer.body, status=answer.status)
    for header, value in (answer.headers or {}).items():
        response[header] = value
    return response


def _keyed_post(request, handle) -> JsonResponse:
    """An API POST with an Idempotency-Key and a JSON object body, answered by `handle`.

    The body is checked by client_input before anything is stored: malformed,
    too deep, non-finite or out-of-range input is a 400 with a message.
    """
    key = request.headers.get("Idempotency-Key", "")
    if not key:
        return JsonResponse({"message": "Idempotency-Key header is required"}, status=400)
    try:
        answer = handle(idempotency_key=key, payload=client_input.parse_json_object(request.body))
    except BadRequest as error:
        return JsonResponse({"message": str(error)}, status=400)
    return _respond(answer)


@csrf_exempt  # an API called by servers with a bearer key, not by browsers
@require_http_methods(["GET", "POST"])
def charges(request):
    """POST: charge a card once per Idempotency-Key.

    GET ?idempotency_key=K: what happened to K (the charge made with it, or
    an empty list), as real gateways let you retrieve a charge by key.
    """
    if not _authorized(request):
        return JsonResponse({"message": "Invalid API key"}, status=401)
    if request.method == "GET":
        key = request.GET.get("idempotency_key", "")
        if not key:
            return JsonResponse({"message": "idempotency_key is required"}, status=400)
        return _respond(gateway.lookup_charges(idempotency_key=key))
    return _keyed_post(request, gateway.handle_charge)


def shop_origins() -> set[str]:
    """The origins whose pages may call the tokenization endpoint (the shop's)."""
    origins = set(settings.SANDBOX_GATEWAY_ALLOWED_ORIGINS)
    if not origins:
        site = urlsplit(settings.SITE_URL)
        origins = {f"{site.scheme}://{site.netloc}"}
    return origins


def _allow_origin(response, origin: str):
    # Written here rather than with django-cors-headers: one endpoint of a
    # development stand-in, which production never mounts, needs four headers.
    response["Access-Control-Allow-Origin"] = origin
    response["Vary"] = "Origin"
    return response


@csrf_exempt  # called cross-origin by the shop's pages with a publishable key, no cookies
@require_http_methods(["OPTIONS", "POST"])
def payment_methods(request):
    """POST {"card": {"number": ...}} from the checkout page: a single-use token (pm_...).

    Authorized by the shop's publishable key (Bearer pk_...), which may be
    public: all it can do is make tokens that only its account can charge.
    Answers CORS preflight for the shop's origins only, as real gateways do
    for a registered domain; a request from another origin gets 403.
    """
    origin = request.headers.get("Origin")
    if origin is not None and origin not in shop_origins():
        return JsonResponse({"message": "Origin not allowed"}, status=403)
    if request.method == "OPTIONS":
        if origin is None:
            return HttpResponse(status=400)
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Methods"] = "POST"
        response["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response["Access-Control-Max-Age"] = "600"
        return _allow_origin(response, origin)
    key = request.headers.get("Authorization", "").removeprefix("Bearer ")
    account = gateway.account_for_publishable_key(key)
    if account is None:
        response = JsonResponse({"message": "Invalid publishable key"}, status=401)
    else:
        try:
            payload = client_input.parse_json_object(request.body)
        except BadRequest as error:
            response = JsonResponse({"message": str(error)}, status=400)
        else:
            response = _respond(gateway.tokenize(account=account, payload=payload))
    return _allow_origin(response, origin) if origin else response


@require_GET
def payment_method(request, token):
    """GET a token as the shop sees it (secret key): card brand, last4, usable/used/expired."""
    if not _authorized(request):
        return JsonResponse({"message": "Invalid API key"}, status=401)
    return _respond(gateway.retrieve_payment_method(token=token))


@csrf_exempt  # an API called by servers with a bearer key, not by browsers
@require_POST
def refunds(request):
    """POST {"charge": id}: refund that charge in full, once per Idempotency-Key."""
    if not _authorized(request):
        return JsonResponse({"message": "Invalid API key"}, status=401)
    return _keyed_post(request, gateway.handle_refund)


@require_GET
def warehouse_stock(request):
    """GET /sandbox/warehouse/stock?page=1&page_size=50: on-hand quantities by SKU."""
    expected = f"Bearer {settings.WAREHOUSE_API_KEY}"
    if not secrets.compare_digest(request.headers.get("Authorization", ""), expected):
        return JsonResponse({"message": "Invalid API key"}, status=401)
    if warehouse.outage_answers_now():
        response = JsonResponse({"message": "Warehouse system unavailable"}, status=503)
        response["Retry-After"] = "1"
        return response
    try:
        page = client_input.clean_small_int(
            request.GET.get("page"), name="page", default=1, maximum=100_000
        )
        page_size = client_input.clean_small_int(
            request.GET.get("page_size"),
            name="page_size",
            default=warehouse.DEFAULT_PAGE_SIZE,
            maximum=warehouse.MAX_PAGE_SIZE,
        )
    except BadRequest as error:
        return JsonResponse({"message": str(error)}, status=400)
    warehouse.ensure_catalog_items()
    return JsonResponse(warehouse.stock_page(page=page, page_size=page_size))


@require_POST
def warehouse_set_on_hand(request):
    """The sandbox page's form: change what the warehouse has of one SKU."""
    sku = request.POST.get("sku", "")
    on_hand = request.POST.get("on_hand", "").strip()
    known = (
        first_control_character(sku) is None
        and len(sku) <= 40
        and WarehouseItem.objects.filter(sku=sku).exists()
    )
    # WarehouseItem.on_hand is a positive integer column (at most 2147483647).
    if not (
        known and is_ascii_digits(on_hand) and len(on_hand) <= 10 and int(on_hand) <= 2**31 - 1
    ):
        messages.error(request, "Pick a known SKU and a quantity of 0 or more.")
        return redirect("sandbox:index")
    on_hand = int(on_hand)
    warehouse.set_on_hand(sku=sku, on_hand=on_hand)
    messages.success(request, f"The warehouse now has {on_hand} of {sku}.")
    return redirect("sandbox:index")


@require_POST
def warehouse_outage(request):
    """The sandbox page's buttons: start or end a warehouse outage."""
    if request.POST.get("action") == "start":
        warehouse.start_outage()
        messages.warning(request, "The warehouse API now answers 503 until you end the outage.")
    else:
        warehouse.end_outage()
        messages.success(request, "The warehouse API answers again.")
    return redirect("sandbox:index")


@require_GET
def index(request):
    warehouse.ensure_catalog_items()
    return render(
        request,
        "sandbox/index.html",
        {
            "charges": GatewayCharge.objects.all()[:50],
            "test_cards": gateway.test_card_descriptions(),
            "warehouse_items": WarehouseItem.objects.all(),
            "warehouse_outage": WarehouseOutage.objects.first(),
        },
    )
