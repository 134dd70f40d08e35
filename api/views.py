"""The JSON API (django-ninja): place an order idempotently, follow it, list the catalog.

Views parse input, call the orders services as the checkout view does
(storefront.views.checkout: confirm the card token, then place_order), and
map the same domain errors to problem documents (api.problems).
"""

import hashlib
import json
import uuid
from collections import defaultdict

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.cache import get_conditional_response
from ninja import Header, NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import Swagger

from inventory.errors import InventoryError, OutOfStock, UnknownProduct
from inventory.models import Product
from jobs.errors import TemporaryError
from orders import services
from orders.errors import GATEWAY_UNREACHABLE, OrderError, PaymentMethodUnusable
from orders.forms import CheckoutForm
from orders.models import Order
from storefront.progress import order_progress, poll_seconds

from . import idempotency, problems
from .auth import ApiKeyAuth, unauthorized
from .models import ApiOrder
from .problems import Problem, invalid
from .schemas import OrderIn, OrderOut, ProblemOut, ProductOut

# Printable ASCII, as Stripe's keys (a UUID is the usual choice).
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]{1,255}$"


class OrderlyApi(NinjaAPI):
    def get_openapi_schema(self, **kwargs):
        """Ninja's document, with error responses typed as application/problem+json."""
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        content[problems.MEDIA_TYPE] = content.pop("application/json")
        return schema


api = OrderlyApi(
    title="Orderly API",
    version="1",
    description="Place orders idempotently and follow their steps. See docs/api.md.",
    urls_namespace="api",
    auth=ApiKeyAuth(),
    parser=problems.ProblemParser(),
    docs=Swagger(),  # served from ninja's bundled static files ("ninja" in INSTALLED_APPS)
    docs_url="/docs",
    openapi_url="/openapi.json",
)

ERRORS = {status: ProblemOut for status in (401, 404, 429)}
POST_ERRORS = {status: ProblemOut for status in (400, 401, 409, 413, 415, 422, 429, 503)}


@api.exception_handler(Problem)
def _problem(request, exc: Problem):
    return exc.response()


@api.exception_handler(ValidationError)
def _validation(request, exc: ValidationError):
    errors, header = [], False
    for error in exc.errors:
        location = [str(part) for part in error.get("loc", [])]
        header = header or location[:1] == ["header"]
        # ("body", "payload", "items", "0", "quantity") -> "items.0.quantity"
        field = location[2:] if location[:1] == ["body"] else location[1:]
        errors.append({"field": ".".join(field) or location[-1], "message": error["msg"]})
    if header:
        return Problem(
            400,
            "idempotency-key",
            "Missing or malformed Idempotency-Key",
            "Send an Idempotency-Key header of 1 to 255 printable ASCII characters "
            "(a new UUID per order is best).",
            errors=errors,
        ).response()
    return invalid(errors).response()


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if isinstance(exc.__cause__, Problem):  # raised by the body parser
        return exc.__cause__.response()
    if isinstance(exc, AuthenticationError):
        return unauthorized().response()
    return Problem(exc.status_code, "http-error", str(exc), str(exc)).response()


@api.exception_handler(Http404)
def _not_found(request, exc):
    return Problem(404, "not-found", "Not found", "No such order for this API key.").response()


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    # Past Django's DATA_UPLOAD_MAX_MEMORY_SIZE: refused before the parser's own limit.
    return Problem(
        413, "body-too-large", "Request body too large", "The body is too large."
    ).response()


def _order_body(request, order: Order) -> tuple[dict, dict]:
    progress = order_progress(order)
    status_url = request.build_absolute_uri(
        reverse("api:order_status", kwargs={"public_id": order.public_id})
    )
    body = OrderOut(
        public_id=str(order.public_id),
        number=order.number,
        status=order.status,
        status_url=status_url,
        headline=progress["headline"],
        final=progress["final"],
        steps=progress["steps"],
    ).model_dump(mode="json")
    return body, progress


def _json(body: dict, status: int = 200) -> HttpResponse:
    return HttpResponse(
        json.dumps(body, sort_keys=True).encode(), status=status, content_type="application/json"
    )


def _quantities(items) -> dict[int, int]:
    """{product id: quantity} for the items (ids or SKUs); 422 naming each unknown product."""
    ids = {item.product for item in items if isinstance(item.product, int)}
    skus = {item.product for item in items if isinstance(item.product, str)}
    found = Product.objects.filter(is_active=True).filter(Q(pk__in=ids) | Q(sku__in=skus))
    by_id = {product.pk: product.pk for product in found}
    by_sku = {product.sku: product.pk for product in found}
    quantities, errors = defaultdict(int), []
    for index, item in enumerate(items):
        product_id = (by_id if isinstance(item.product, int) else by_sku).get(item.product)
        if product_id is None:
            message = str(UnknownProduct(item.product))
            errors.append({"field": f"items.{index}.product", "message": message})
        else:
            quantities[product_id] += item.quantity
    if errors:
        raise invalid(errors, "Some products do not exist or are no longer sold.")
    return dict(quantities)


def _details(payload: OrderIn) -> dict:
    """The shopper's details as the checkout form cleans them (same rules, same messages)."""
    form = CheckoutForm(payload.model_dump(exclude={"items"}))
    if not form.is_valid():
        errors = [
            {"field": field, "message": message}
            for field, messages in form.errors.items()
            for message in messages
        ]
        raise invalid(errors)
    return form.cleaned_data


def _confirmed_card(token: str):
    try:
        return services.confirm_payment_method(token=token)
    except PaymentMethodUnusable as error:
        raise invalid([{"field": "payment_method", "message": str(error)}], str(error)) from None
    except TemporaryError:
        raise Problem(
            503,
            "gateway-unreachable",
            "Payment provider unreachable",
            GATEWAY_UNREACHABLE,
            headers={"Retry-After": "5"},
        ) from None


def _place(request, client, payload: OrderIn, row) -> HttpResponse:
    """Place the order and store the 202 under the key, in one transaction."""
    quantities = _quantities(payload.items)
    details = _details(payload)
    card = _confirmed_card(details.pop("payment_method"))
    try:
        with transaction.atomic():
            order = services.place_order(quantities=quantities, payment_method=card, **details)
            ApiOrder.objects.create(order=order, client=client)
            body, _ = _order_body(request, order)
            response = _json(body, status=202)
            response["Location"] = body["status_url"]
            idempotency.complete(row, response)
    except PaymentMethodUnusable as error:
        raise invalid([{"field": "payment_method", "message": str(error)}], str(error)) from None
    except OutOfStock as error:
        raise Problem(409, "out-of-stock", "Not enough stock", str(error)) from None
    except UnknownProduct as error:
        raise invalid([{"field": "items", "message": str(error)}], str(error)) from None
    except (InventoryError, OrderError) as error:
        raise Problem(409, "order-refused", "Order refused", str(error)) from None
    return response


@api.post(
    "/orders",
    response={202: OrderOut, **POST_ERRORS},
    url_name="orders",
    summary="Place an order",
    description="Answers 202 with the order's steps and its status URL in `Location`. "
    "Repeating the request with the same Idempotency-Key and body answers the first response "
    "again; another body with that key is a 422; a key still being processed is a 409.",
)
def create_order(
    request,
    payload: OrderIn,
    idempotency_key: str = Header(
        ...,
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="A new unique key (e.g. a UUID) per order; reuse it to retry safely. "
        "Kept for ORDERLY_API_IDEMPOTENCY_HOURS (default 24) hours.",
    ),
):
    client = request.auth
    body_fingerprint = idempotency.fingerprint(payload.model_dump(mode="json"))
    row = idempotency.claim(
        client=client, key=idempotency_key, request_fingerprint=body_fingerprint
    )
    if row is None:
        return idempotency.stored_response(client=client, key=idempotency_key)
    try:
        return _place(request, client, payload, row)
    except BaseException:
        idempotency.release(row)
        raise


@api.get(
    "/orders/{public_id}",
    response={200: OrderOut, 304: None, **ERRORS},
    url_name="order_status",
    summary="An order and its steps",
    description="Send the ETag back as If-None-Match to get 304 while nothing changed; "
    "`Retry-After` says when to ask again while steps are pending.",
)
def order_status(request, public_id: str):
    try:
        public_id = uuid.UUID(public_id)
    except ValueError:
        raise Http404 from None  # no order has that id
    link = (
        ApiOrder.objects.select_related("order")
        .filter(client=request.auth, order__public_id=public_id)
        .first()
    )
    if link is None:
        raise Http404
    body, progress = _order_body(request, link.order)
    content = json.dumps(body, sort_keys=True).encode()
    etag = f'"{hashlib.sha256(content).hexdigest()[:32]}"'
    response = get_conditional_response(request, etag=etag) or HttpResponse(
        content, content_type="application/json"
    )
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    seconds = poll_seconds(link.order, progress)
    if seconds is not None:
        response["Retry-After"] = str(seconds)
    return response


@api.get("/products", response={200: list[ProductOut], **ERRORS}, summary="The catalog, with stock")
def products(request):
    return [
        ProductOut(
            id=product.pk,
            sku=product.sku,
            name=product.name,
            category=product.category,
            price=str(product.price),
            currency=settings.SHOP_CURRENCY,
            stock=product.stock,
        )
        for product in Product.objects.filter(is_active=True).order_by("pk")
    ]
