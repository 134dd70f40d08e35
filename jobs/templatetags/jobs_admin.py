from django import template

from jobs.models import DeadLetter

register = template.Library()


@register.simple_tag
def open_dead_letter_count() -> int:
    return DeadLetter.objects.filter(status=DeadLetter.Status.OPEN).count()
