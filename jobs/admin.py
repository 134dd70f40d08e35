from django.contrib import admin

from .models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "reference", "created_at", "sent_at", "publish_attempts")
    list_filter = (("sent_at", admin.EmptyFieldListFilter),)
    search_fields = ("reference",)
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]

    def has_add_permission(self, request):
        return False
