from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from . import keys
from .models import ApiClient, ApiOrder, IdempotencyKey


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ["name", "key_prefix", "is_active", "rate_limit_per_minute", "created_at"]
    list_filter = ["is_active"]
    readonly_fields = ["key_prefix", "created_at"]
    fields = ["name", "is_active", "rate_limit_per_minute", "key_prefix", "created_at"]

    def save_model(self, request, obj, form, change):
        """On creation, make the key; only its hash is saved (response_add shows it once)."""
        if not change:
            key, obj.key_prefix, obj.key_hash = keys.new_key()
            request._new_api_key = key
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        """Show the new key once, on this response's page.

        Not as a message: Django's default message storage keeps messages in a
        signed (readable) cookie, and the key must not travel or rest there.
        """
        response = TemplateResponse(
            request,
            "admin/api/apiclient/key_once.html",
            {
                **self.admin_site.each_context(request),
                "client": obj,
                "key": request._new_api_key,
                "change_url": reverse("admin:api_apiclient_change", args=[obj.pk]),
                "opts": self.opts,
            },
        )
        add_never_cache_headers(response)
        return response


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ["key", "client", "status", "response_status", "created_at"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in IdempotencyKey._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ApiOrder)
class ApiOrderAdmin(admin.ModelAdmin):
    list_display = ["order", "client", "created_at"]
    readonly_fields = ["order", "client", "created_at"]

    def has_add_permission(self, request):
        return False
