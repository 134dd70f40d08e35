from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from .models import EmailLog, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .services import webhooks
from .webhooks import signing
from .webhooks.safe_http import UnsafeWebhookURL


@admin.register(EmailLog)
class EmailLogAdmin(admin.ModelAdmin):
    list_display = ("sent_at", "kind", "to", "subject", "order")
    list_filter = ("kind",)
    search_fields = ("to", "key", "order__public_id")
    readonly_fields = [f.name for f in EmailLog._meta.fields]

    def has_add_permission(self, request):
        return False


class WebhookEndpointForm(forms.ModelForm):
    """Checks the URL against the SSRF rules when the endpoint is saved."""

    # Not a URLField: the SSRF check gives the clearer message (e.g. for a decimal IP).
    url = forms.CharField(max_length=500)
    event_types = forms.MultipleChoiceField(
        choices=[(name, name) for name in webhooks.EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "event_types")

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            webhooks.validate_endpoint_url(url)
        except UnsafeWebhookURL as exc:
            raise ValidationError(str(exc)) from exc
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "description", "is_active", "consecutive_failures", "disabled_at")
    list_filter = ("is_active",)
    search_fields = ("url", "description")
    readonly_fields = (
        "secret", "is_active", "consecutive_failures", "disabled_at", "disabled_reason",
        "created_at",
    )  # fmt: skip
    actions = ["send_test_event", "rotate_secret", "enable_endpoints"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.secret = signing.generate_secret()
        super().save_model(request, obj, form, change)

    @admin.action(description="Send a test event")
    def send_test_event(self, request, queryset):
        for endpoint in queryset:
            webhooks.send_test_event(endpoint=endpoint)
        self.message_user(request, f"Test event queued for {queryset.count()} endpoint(s).")

    @admin.action(description="Rotate secret")
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            webhooks.rotate_secret(endpoint=endpoint)
        self.message_user(
            request,
            f"New secret for {queryset.count()} endpoint(s); update the receivers.",
            messages.WARNING,
        )

    @admin.action(description="Re-enable (reset failure count)")
    def enable_endpoints(self, request, queryset):
        for endpoint in queryset:
            webhooks.enable_endpoint(endpoint=endpoint)
        self.message_user(request, f"{queryset.count()} endpoint(s) enabled.")


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("attempted_at", "status_code", "duration_ms", "error", "response_body")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at", "event_type", "endpoint", "status", "attempts", "next_attempt_at", "order",
    )  # fmt: skip
    list_filter = ("status", "event_type", "endpoint")
    search_fields = ("event_id", "order__public_id", "endpoint__url")
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Redeliver")
    def redeliver(self, request, queryset):
        count = webhooks.redeliver(delivery_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} deliver{'y' if count == 1 else 'ies'} queued again.")
