"""The sandbox webhook receiver: verifies Standard Webhooks signatures and lists what came.

Point an endpoint (admin, Webhook endpoints) at `{SITE_URL}/sandbox/webhooks/receive`
and allow-list the host in ORDERLY_WEBHOOK_ALLOWED_HOSTS. The receiver tries
the secret of every endpoint (it is a sandbox). `?status=503` (or any code)
makes it answer with that status, to watch retries and disabling.
"""

import json
import time

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from notifications.models import WebhookEndpoint
from notifications.webhooks import signing

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
    endpoint_id, problem = _verify(headers, body)
    try:
        event_type = str(json.loads(body).get("type", ""))[:60]
    except (ValueError, AttributeError):
        event_type = ""
    status = 204 if endpoint_id else 401
    try:
        if "status" in request.GET:
            status = min(max(int(request.GET["status"]), 200), 599)
    except ValueError:
        pass
    ReceivedWebhook.objects.create(
        webhook_id=headers.get("webhook-id", "")[:100],
        event_type=event_type,
        verified=endpoint_id is not None,
        endpoint_id=endpoint_id,
        problem=problem[:200],
        answered_status=status,
        body=body.decode("utf-8", errors="replace")[:20000],
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
