"""The bench's web processes: the shop's URLs, plus the seed-naive checkout (bench/naive.py)."""

from django.urls import path

from project.urls import urlpatterns as shop_urlpatterns

from .naive import naive_checkout

urlpatterns = [path("bench/naive/orders", naive_checkout, name="bench_naive_orders"),
               *shop_urlpatterns]  # fmt: skip
