"""HTTP endpoints of the sandbox stand-ins. Mounted only when SANDBOX_ENABLED."""

import json
import secrets

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from . import gateway
from .models import GatewayCharge


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


@require_GET
def index(request):
    return render(
        request,
        "sandbox/index.html",
        {"charges": GatewayCharge.objects.all()[:50], "test_cards": gateway.TEST_CARDS},
    )
