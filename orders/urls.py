from django.urls import path

from . import views

app_name = "orders"
urlpatterns = [
    path("cart/", views.cart, name="cart"),
    path("cart/add/", views.cart_add, name="cart_add"),
    path("cart/<int:product_id>/update/", views.cart_update, name="cart_update"),
    path("cart/<int:product_id>/remove/", views.cart_remove, name="cart_remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/<uuid:public_id>/", views.order_detail, name="detail"),
    path("orders/<uuid:public_id>/status/", views.order_status, name="status"),
    path("orders/<uuid:public_id>/invoice/", views.invoice_download, name="invoice"),
]
