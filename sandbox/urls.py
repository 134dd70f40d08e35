from django.urls import include, path

from . import views, webhook_receiver

app_name = "sandbox"
# The gateway's API: what the shop's servers and the shoppers' browsers call.
# On its own origin in `make dev` and compose (sandbox/gateway_urls.py).
gateway_patterns = [
    path("charges", views.charges, name="gateway_charges"),
    path("refunds", views.refunds, name="gateway_refunds"),
    path("payment_methods", views.payment_methods, name="gateway_payment_methods"),
    path("payment_methods/<slug:token>", views.payment_method, name="gateway_payment_method"),
]
urlpatterns = [
    path("", views.index, name="index"),
    path("gateway/", include(gateway_patterns)),
    path("warehouse/stock", views.warehouse_stock, name="warehouse_stock"),
    path("warehouse/items", views.warehouse_set_on_hand, name="warehouse_set_on_hand"),
    path("warehouse/outage", views.warehouse_outage, name="warehouse_outage"),
    path("webhooks/", webhook_receiver.received, name="webhooks"),
    path("webhooks/receive", webhook_receiver.receive, name="webhooks_receive"),
]
