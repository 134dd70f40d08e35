"""The sandbox webhook receiver: verifies Standard Webhooks signatures and lists what came.

Point an endpoint (admin, Webhook endpoints) at `{SITE_URL}/sandbox/webhooks/receive`
and allow-list the host in ORDERLY_WEBHOOK_ALLOWED_HOSTS. The receiver tries
the secret of every endpoint (it is a sandbox). `?status=503` (or any code)
makes it answer with that status, to watch retries and disabling.
"""

import time

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from notifications.models import WebhookEndpoint
from notifications.webhooks import signing

from . import client_input
from .client_input import BadRequest
from .models import ReceivedWebhook


def _verify(headers, body: bytes) -> tuple[int | None, str]:
    """(endpoint id whose secret verifies, problem)."""
    problem = "no endpoints configured"
    for endpoint_id, secret in WebhookEndpoint.objects.values_list("pk", "secret"):
        try:
            signing.verify(secret=secret, headers=headers, body=body, now=int(time.time()))
        except signing.InvalidSignature as exc:
            problem = str(exc)
            continue
        return endpoint_id, ""
    return None, problem


@csrf_exempt  # called by the webhook sender, not by browsers
@require_POST
def receive(request):
    body = request.body
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        payload = client_input.parse_json_object(body)
        event_type = client_input.clean_text(payload.get("type"), name="type", max_length=60)
        webhook_id = client_input.clean_text(
            headers.get("webhook-id"), name="webhook-id header", max_length=100
        )
        status = client_input.clean_small_int(
            request.GET.get("status"), name="status", default=0, maximum=599
        )
    except BadRequest as error:  # nothing is stored for a request we cannot read
        return JsonResponse({"message": str(error)}, status=400)
    endpoint_id, problem = _verify(headers, body)
    if not status:
        status = 204 if endpoint_id else 401
    status = max(status, 200)
    ReceivedWebhook.objects.create(
        webhook_id=webhook_id,
        event_type=event_type,
        verified=endpoint_id is not None,
        endpoint_id=endpoint_id,
        problem=problem[:200],
        answered_status=status,
        body=body.decode("utf-8"),  # parse_json_object checked it is UTF-8 (and at most 64 KiB)
    )
    return HttpResponse(status=status)


@require_GET
def received(request):
    return render(
        request,
        "sandbox/webhooks.html",
        {
            "received": ReceivedWebhook.objects.all()[:50],
            "receiver_url": request.build_absolute_uri("/sandbox/webhooks/receive"),
        },
    )
