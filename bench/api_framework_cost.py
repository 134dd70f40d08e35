"""What the API framework costs per request: django-ninja (ours) beside Django REST framework.

A timing script, not a test, and not part of `make bench`:

    uv run --frozen --with djangorestframework --with drf-spectacular \\
        python bench/api_framework_cost.py

(`--with` lays DRF over the project's environment for this run only; it is not
a dependency.) Decision 0007 chose django-ninja partly by this figure.

Two operations, each written three ways over the shop's own settings,
middleware, models and API-key check (api.auth: prefix lookup, hash, the
Redis rate count):

- GET the catalog (32 products) as JSON;
- POST a valid order body, validated as `api.schemas.OrderIn` says (unknown
  fields refused, product id or SKU, the name and address patterns) and
  answered 202 with a fixed body. Nothing is placed: the service work is the
  same whichever framework calls it.

The variants: a plain Django view (json.loads + the pydantic schema, the floor),
django-ninja (the real `/api/v1/products` route and a route taking the real
`OrderIn`), and DRF (APIView + serializers written to the same rules). Each
request goes through Django's test client; the figure is the median over
interleaved rounds of CPU time (process_time) per request.
"""

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The shop's production settings (DEBUG off), over plain HTTP, as bench/run.py runs it.
os.environ.update(
    DJANGO_SETTINGS_MODULE="project.settings",
    DJANGO_READ_DOT_ENV_FILE="false",
    DJANGO_DEBUG="false",
    DJANGO_SECRET_KEY="bench-" + "x" * 50,
    DJANGO_ALLOWED_HOSTS="testserver",
    DJANGO_SECURE_SSL_REDIRECT="false",
    DJANGO_SECURE_HSTS_SECONDS="0",
    DATABASE_URL=f"sqlite:///{tempfile.mkdtemp(prefix='api-cost-')}/api.sqlite3",
    LOG_LEVEL="WARNING",
)

import django  # noqa: E402
from django.conf import settings  # noqa: E402

django.setup()
settings.REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_THROTTLE_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}

from django.core.management import call_command  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from ninja import NinjaAPI  # noqa: E402
from rest_framework import authentication, exceptions, serializers  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from api import keys  # noqa: E402
from api.auth import ApiKeyAuth  # noqa: E402
from api.models import ApiClient  # noqa: E402
from api.problems import ProblemParser  # noqa: E402
from api.schemas import EXAMPLE, LINES, ONE_LINE, OrderIn  # noqa: E402
from api.views import api as orderly_api  # noqa: E402
from inventory.models import Product  # noqa: E402
from orders.gateway import TOKEN  # noqa: E402

REQUESTS_PER_ROUND = 300
ROUNDS = 7
ACCEPTED = {"status": "accepted"}
bearer = ApiKeyAuth()


def catalog():
    return [
        {
            "id": product.pk,
            "sku": product.sku,
            "name": product.name,
            "category": product.category,
            "price": str(product.price),
            "currency": settings.SHOP_CURRENCY,
            "stock": product.stock,
        }
        for product in Product.objects.filter(is_active=True).order_by("pk")
    ]


def client_of(request):
    """The API client for the request's bearer key (api.auth's lookup, hash and rate count)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return bearer.authenticate(request, token)


# --- plain Django: the floor -------------------------------------------------------------


def plain_products(request):
    client_of(request)
    return JsonResponse(catalog(), safe=False)


@csrf_exempt
def plain_order(request):
    client_of(request)
    OrderIn.model_validate(json.loads(request.body))
    return JsonResponse(ACCEPTED, status=202)


# --- django-ninja: the real catalog route, and a route taking the real OrderIn --------------

ninja_api = NinjaAPI(urls_namespace="bench_ninja", auth=ApiKeyAuth(), parser=ProblemParser())


@ninja_api.post("/orders", response={202: dict})
def ninja_order(request, payload: OrderIn):
    return 202, ACCEPTED


# --- Django REST framework: the same rules as serializers -----------------------------------


class BearerKey(authentication.BaseAuthentication):
    def authenticate(self, request):
        client = client_of(request)
        if client is None:
            raise exceptions.NotAuthenticated()
        return (None, client)


class ProductIdOrSku(serializers.Field):
    """pydantic's `int | str` union: DRF has no union field."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            raise serializers.ValidationError("Give a product id or SKU.")
        if isinstance(data, int):
            if not 1 <= data <= 2**63 - 1:
                raise serializers.ValidationError("Not a product id.")
            return data
        if isinstance(data, str) and 1 <= len(data) <= 40 and data.isprintable():
            return data
        raise serializers.ValidationError("Give a product id or SKU.")


class Strict(serializers.Serializer):
    """Unknown fields refused: DRF ignores them unless told."""

    def to_internal_value(self, data):
        unknown = set(data) - set(self.fields) if isinstance(data, dict) else set()
        if unknown:
            raise serializers.ValidationError({name: "Unknown field." for name in unknown})
        return super().to_internal_value(data)


class OrderItemSerializer(Strict):
    product = ProductIdOrSku()
    quantity = serializers.IntegerField(min_value=1, max_value=99)


class OrderSerializer(Strict):
    items = OrderItemSerializer(many=True, min_length=1, max_length=50)
    email = serializers.CharField(min_length=3, max_length=254)
    full_name = serializers.RegexField(ONE_LINE, min_length=1, max_length=120)
    shipping_address = serializers.RegexField(LINES, min_length=1, max_length=500)
    payment_method = serializers.RegexField(f"^{TOKEN.pattern}$")


class ProductSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    price = serializers.CharField()
    currency = serializers.CharField()
    stock = serializers.IntegerField()


class DrfProducts(APIView):
    authentication_classes = [BearerKey]

    def get(self, request):
        return Response(ProductSerializer(catalog(), many=True).data)


class DrfOrder(APIView):
    authentication_classes = [BearerKey]

    def post(self, request):
        OrderSerializer(data=request.data).is_valid(raise_exception=True)
        return Response(ACCEPTED, status=202)


urlpatterns = [
    path("api/v1/", orderly_api.urls),
    path("plain/products", plain_products),
    path("plain/orders", plain_order),
    path("ninja/", ninja_api.urls),
    path("drf/products", DrfProducts.as_view()),
    path("drf/orders", DrfOrder.as_view()),
]

VARIANTS = {
    "plain Django + pydantic": ("/plain/products", "/plain/orders"),
    "django-ninja": ("/api/v1/products", "/ninja/orders"),
    "DRF": ("/drf/products", "/drf/orders"),
}


def prepare() -> str:
    call_command("migrate", verbosity=0)
    Product.objects.bulk_create(
        Product(
            sku=f"SKU-{n:03}",
            slug=f"product-{n}",
            name=f"Product {n}",
            price="9.90",
            stock=100,
            category="tea",
        )
        for n in range(32)
    )
    key, prefix, key_hash = keys.new_key()
    ApiClient.objects.create(
        name="bench", key_prefix=prefix, key_hash=key_hash, rate_limit_per_minute=10**9
    )
    return key


def cpu_per_request(client: Client, method: str, url: str, body: bytes | None) -> float:
    started = time.process_time()
    for _ in range(REQUESTS_PER_ROUND):
        if body is None:
            response = client.get(url)
        else:
            response = client.post(url, body, content_type="application/json")
    elapsed = time.process_time() - started
    if response.status_code not in (200, 202):
        raise SystemExit(f"{method} {url} answered {response.status_code}: {response.content!r}")
    return elapsed / REQUESTS_PER_ROUND


def main() -> None:
    with override_settings(ROOT_URLCONF=__name__):
        key = prepare()
        client = Client(headers={"Authorization": f"Bearer {key}"})
        body = json.dumps(EXAMPLE | {"items": [{"product": "SKU-001", "quantity": 2}]}).encode()
        operations = {"GET products": None, "POST order": body}
        results = {(name, op): [] for name in VARIANTS for op in operations}
        for urls in VARIANTS.values():  # warm up: imports, URL resolver, schema builds
            for url, op_body in zip(urls, operations.values(), strict=True):
                cpu_per_request(client, "warm", url, op_body)
        for _ in range(ROUNDS):
            for name, urls in VARIANTS.items():
                for (op, op_body), url in zip(operations.items(), urls, strict=True):
                    results[name, op].append(cpu_per_request(client, op, url, op_body))
    import ninja
    import rest_framework

    print(
        f"{REQUESTS_PER_ROUND} requests x {ROUNDS} interleaved rounds, CPU ms per request "
        f"(django-ninja {ninja.__version__}, DRF {rest_framework.__version__}, "
        f"Django {django.__version__}, SQLite)"
    )
    print(f"{'':26s}" + "".join(f"{op:>24s}" for op in operations))
    for name in VARIANTS:
        cells = []
        for op in operations:
            median = statistics.median(results[name, op])
            floor = statistics.median(results["plain Django + pydantic", op])
            cells.append(f"{median * 1e3:6.2f} ({median / floor:4.2f}x floor)")
        print(f"{name:26s}" + "".join(f"{cell:>24s}" for cell in cells))


if __name__ == "__main__":
    main()
