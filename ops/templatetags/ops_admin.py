from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def flower_url() -> str:
    """Where operators find Flower (task monitor), from settings.FLOWER_URL."""
    return settings.FLOWER_URL
