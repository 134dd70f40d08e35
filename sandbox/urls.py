from django.urls import path

from . import views, webhook_receiver

app_name = "sandbox"
urlpatterns = [
    path("", views.index, name="index"),
    path("gateway/charges", views.charges, name="gateway_charges"),
    path("gateway/refunds", views.refunds, name="gateway_refunds"),
    path("warehouse/stock", views.warehouse_stock, name="warehouse_stock"),
    path("warehouse/items", views.warehouse_set_on_hand, name="warehouse_set_on_hand"),
    path("warehouse/outage", views.warehouse_outage, name="warehouse_outage"),
    path("webhooks/", webhook_receiver.received, name="webhooks"),
    path("webhooks/receive", webhook_receiver.receive, name="webhooks_receive"),
]
