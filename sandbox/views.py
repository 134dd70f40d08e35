"""HTTP endpoints of the sandbox stand-ins. Mounted only when SANDBOX_ENABLED."""

import json
import secrets

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from . import gateway, warehouse
from .models import GatewayCharge, WarehouseItem, WarehouseOutage


@csrf_exempt  # an API called by servers with a bearer key, not by browsers
@require_POST
def charges(request):
    expected = f"Bearer {settings.PAYMENT_GATEWAY_API_KEY}"
    if not secrets.compare_digest(request.headers.get("Authorization", ""), expected):
        return JsonResponse({"message": "Invalid API key"}, status=401)
    key = request.headers.get("Idempotency-Key", "")
    if not key:
        return JsonResponse({"message": "Idempotency-Key header is required"}, status=400)
    try:
        payload = json.loads(request.body)
        if not isinstance(payload, dict):
            raise ValueError("not an object")
        answer = gateway.handle_charge(idempotency_key=key, payload=payload)
    except ValueError:
        return JsonResponse({"message": "Body must be a JSON object"}, status=400)
    except gateway.BadRequest as error:
        return JsonResponse({"message": str(error)}, status=400)
    response = JsonResponse(answer.body, status=answer.status)
    for header, value in (answer.headers or {}).items():
        response[header] = value
    return response


def _positive_int(value, default: int) -> int:
    try:
        return max(int(value), 1)
    except (TypeError, ValueError):
        return default


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
    warehouse.ensure_catalog_items()
    page = warehouse.stock_page(
        page=_positive_int(request.GET.get("page"), 1),
        page_size=_positive_int(request.GET.get("page_size"), warehouse.DEFAULT_PAGE_SIZE),
    )
    return JsonResponse(page)


@require_POST
def warehouse_set_on_hand(request):
    """The sandbox page's form: change what the warehouse has of one SKU."""
    sku = request.POST.get("sku", "")
    try:
        on_hand = int(request.POST.get("on_hand", ""))
        if on_hand < 0 or not WarehouseItem.objects.filter(sku=sku).exists():
            raise ValueError(sku)
    except ValueError:
        messages.error(request, "Pick a known SKU and a quantity of 0 or more.")
        return redirect("sandbox:index")
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
            "test_cards": gateway.TEST_CARDS,
            "warehouse_items": WarehouseItem.objects.all(),
            "warehouse_outage": WarehouseOutage.objects.first(),
        },
    )
