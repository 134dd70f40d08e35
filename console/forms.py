from django import forms
from django.conf import settings

from jobs.services.bulk_requeue import MAX_RATE_PER_SECOND


class BulkRequeueForm(forms.Form):
    rate_per_second = forms.FloatField(
        label="Pace (dead letters per second)",
        min_value=0.01,
        max_value=MAX_RATE_PER_SECOND,
        help_text="Requeued one at a time at this rate, so the recovered service is not flooded.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rate_per_second"].initial = settings.ORDERLY_BULK_REQUEUE_RATE_PER_SECOND


class ResolveMatchingForm(forms.Form):
    note = forms.CharField(
        max_length=1000,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text="Why they need no requeue (kept with each dead letter).",
    )


class QueuePauseForm(forms.Form):
    note = forms.CharField(
        max_length=300, required=False, widget=forms.TextInput(attrs={"size": 40})
    )
