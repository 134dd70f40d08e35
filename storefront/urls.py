"""The shopper's pages.

URL names keep the namespaces of what they show (`inventory:catalog`,
`orders:detail`), so templates and `Order.get_absolute_url` name the thing,
not the app that renders it.
"""

from django.urls import include, path

from . import views

catalog_urls = [
    path("", views.catalog, name="catalog"),
    path("products/<slug:slug>/", views.product_detail, name="product"),
]
order_urls = [
    path("cart/", views.cart, name="cart"),
    path("cart/add/", views.cart_add, name="cart_add"),
    path("cart/<int:product_id>/update/", views.cart_update, name="cart_update"),
    path("cart/<int:product_id>/remove/", views.cart_remove, name="cart_remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/<uuid:public_id>/", views.order_detail, name="detail"),
    path("orders/<uuid:public_id>/status/", views.order_status, name="status"),
    path("orders/<uuid:public_id>/progress/", views.order_progress_fragment, name="progress"),
    path("orders/<uuid:public_id>/pay/", views.pay_again, name="pay_again"),
    path("orders/<uuid:public_id>/invoice/", views.invoice_download, name="invoice"),
]
urlpatterns = [
    path("", include((order_urls, "orders"))),
    path("", include((catalog_urls, "inventory"))),
]
