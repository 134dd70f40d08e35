from django.contrib import admin

from .models import Order, OrderItem, Payment, PaymentEvent


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    readonly_fields = ("product", "sku", "name", "unit_price", "quantity")
    can_delete = False


class PaymentInline(admin.StackedInline):
    model = Payment
    extra = 0
    can_delete = False
    readonly_fields = (
        "idempotency_key",
        "amount",
        "currency",
        "status",
        "payment_method",
        "card_brand",
        "card_last4",
        "gateway_charge_id",
        "attempts",
        "failure_message",
        "gateway_refund_id",
        "settled_at",
    )


class PaymentEventInline(admin.TabularInline):
    """Every charge attempt, gateway lookup and refund, in order: why the payment is where it is."""

    model = PaymentEvent
    extra = 0
    can_delete = False
    fields = ("at", "kind", "outcome", "detail")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "public_id", "email", "status", "total", "created_at")
    list_filter = ("status", "created_at")
    search_fields = ("public_id", "email", "full_name")
    readonly_fields = ("public_id", "customer", "total", "currency", "created_at", "updated_at")
    inlines = [OrderItemInline, PaymentInline, PaymentEventInline]
    date_hierarchy = "created_at"

    @admin.display(description="Number", ordering="pk")
    def number(self, order):
        return order.number
