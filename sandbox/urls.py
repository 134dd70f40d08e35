from django.urls import path

from . import views

app_name = "sandbox"
urlpatterns = [
    path("", views.index, name="index"),
    path("gateway/charges", views.charges, name="gateway_charges"),
]
