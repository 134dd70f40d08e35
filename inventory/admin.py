from django.contrib import admin

from .models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "sku", "category", "price", "stock", "is_active")
    list_filter = ("category", "is_active")
    list_editable = ("is_active",)
    search_fields = ("name", "sku")
    prepopulated_fields = {"slug": ("name",)}
