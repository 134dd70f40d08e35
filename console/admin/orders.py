from django.contrib import admin

from orders.admin import OrderAdmin
from orders.models import Order

from ..search import order_ids_matching
from ..timeline import order_timeline


class ConsoleOrderAdmin(OrderAdmin):
    """The order admin, plus its timeline and a search that understands task ids."""

    change_form_template = "admin/console/order/change_form.html"
    search_help_text = "An order number (ORD-000131), the order's UUID, a task id, or an e-mail."

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        extra_context = {**(extra_context or {})}
        if order is not None:
            extra_context["timeline"] = order_timeline(order)
        return super().change_view(request, object_id, form_url, extra_context)

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        ids = order_ids_matching(search_term)
        if ids:
            found = found | queryset.filter(pk__in=ids)
        return found, may_have_duplicates


admin.site.unregister(Order)
admin.site.register(Order, ConsoleOrderAdmin)
