from django.contrib import admin

from .models import Invoice


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ("number", "order", "size_bytes", "created_at")
    search_fields = ("number", "order__public_id")
    readonly_fields = ("order", "number", "file", "size_bytes", "created_at")
