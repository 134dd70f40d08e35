from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.utils.html import format_html

from . import task_results_admin
from .errors import DeadLetterError
from .models import DeadLetter, DeadLetterEvent, OutboxMessage
from .selectors import business_object_link, business_object_links, exact_dead_letter_match
from .services import dead_letters


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "reference", "created_at", "sent_at", "publish_attempts")
    list_filter = (("sent_at", admin.EmptyFieldListFilter),)
    search_fields = ("reference",)
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]

    def has_add_permission(self, request):
        return False


class DeadLetterActionForm(ActionForm):
    note = forms.CharField(
        required=False,
        label="Note",
        widget=forms.TextInput(attrs={"placeholder": "Why (kept with the dead letter)"}),
    )


class DeadLetterEventInline(admin.TabularInline):
    model = DeadLetterEvent
    extra = 0
    can_delete = False
    readonly_fields = ("at", "action", "actor", "detail")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "status",
        "task_name",
        "queue",
        "exception_class",
        "short_message",
        "attempts",
        "business_object",
        "last_failed_at",
    )
    list_display_links = ("id", "task_name")
    list_filter = ("status", "task_name", "queue", "exception_class", "last_failed_at")
    search_fields = ("task_id", "reference", "exception_message", "requeued_task_id")
    date_hierarchy = "last_failed_at"
    action_form = DeadLetterActionForm
    actions = ["requeue", "resolve"]
    inlines = [DeadLetterEventInline]
    fieldsets = [
        (
            None,
            {
                "fields": (
                    "status",
                    "task_name",
                    "task_id",
                    "flower_link",
                    "queue",
                    "business_object",
                    "note",
                )
            },
        ),
        (
            "Failure",
            {
                "fields": (
                    "exception_class",
                    "exception_message",
                    "traceback_display",
                    "attempts",
                    "worker_hostname",
                    "first_failed_at",
                    "last_failed_at",
                )
            },
        ),
        ("Arguments (secrets redacted)", {"fields": ("args", "kwargs")}),
        ("Last action", {"fields": ("acted_by", "acted_at", "requeued_task_id")}),
    ]
    readonly_fields = (
        "status",
        "task_name",
        "task_id",
        "flower_link",
        "queue",
        "business_object",
        "exception_class",
        "exception_message",
        "traceback_display",
        "attempts",
        "worker_hostname",
        "first_failed_at",
        "last_failed_at",
        "args",
        "kwargs",
        "acted_by",
        "acted_at",
        "requeued_task_id",
    )

    def has_add_permission(self, request):
        return False

    def has_requeue_permission(self, request):
        return request.user.has_perm("jobs.requeue_deadletter")

    def has_resolve_permission(self, request):
        return self.has_change_permission(request)

    @admin.display(description="Message")
    def short_message(self, dead_letter):
        message = dead_letter.exception_message
        return message if len(message) <= 80 else message[:77] + "..."

    @admin.display(description="Traceback")
    def traceback_display(self, dead_letter):
        return format_html(
            '<pre class="orderly-traceback">{}</pre>',
            dead_letter.traceback,
        )

    @admin.display(description="Task in Flower")
    def flower_link(self, dead_letter):
        url = f"{settings.FLOWER_URL}/task/{dead_letter.task_id}"
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, url)

    def get_search_results(self, request, queryset, search_term):
        # A task id, an order UUID or a reference: indexed, exact. Any other
        # text: the substring search over search_fields.
        exact = exact_dead_letter_match(search_term)
        if exact is not None and queryset.filter(exact).exists():
            return queryset.filter(exact), False
        return super().get_search_results(request, queryset, search_term)

    def get_changelist_instance(self, request):
        # Resolve the page's business-object links in one query per model, not
        # one per row (100 queries a page; see bench/RESULTS.md, "How cost grows").
        changelist = super().get_changelist_instance(request)
        links = business_object_links(changelist.result_list)
        for dead_letter in changelist.result_list:
            dead_letter.business_link = links.get(dead_letter.pk)
        return changelist

    @admin.display(description="Business object", ordering="reference")
    def business_object(self, dead_letter):
        if hasattr(dead_letter, "business_link"):  # a list page, resolved above
            link = dead_letter.business_link
        else:
            link = business_object_link(dead_letter)
        if link:
            return format_html('<a href="{}">{}</a>', *link)
        return dead_letter.reference or "-"

    @admin.action(description="Requeue selected dead letters", permissions=["requeue"])
    def requeue(self, request, queryset):
        self._each(request, queryset, dead_letters.requeue_dead_letter, "requeued")

    @admin.action(
        description="Resolve selected dead letters (with the note)", permissions=["resolve"]
    )
    def resolve(self, request, queryset):
        note = request.POST.get("note", "")
        self._each(request, queryset, dead_letters.resolve_dead_letter, "resolved", note=note)

    def _each(self, request, queryset, service, verb, **extra):
        done = 0
        for dead_letter_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                service(dead_letter_id=dead_letter_id, actor=request.user, **extra)
            except DeadLetterError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request, f"{done} dead letter(s) {verb}.{AFTER_ACTION[verb]}", messages.SUCCESS
            )


# What happens after an action, so the message promises no more than was done.
AFTER_ACTION = {
    "requeued": " Each is resolved when its task reports the work done, or reopened with"
    " the reason if the task finds nothing to do.",
    "resolved": "",
}

# Task results: a page whose cost does not grow with the table (see the module).
task_results_admin.install()
