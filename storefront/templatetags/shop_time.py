"""{{ moment|shop_time }}: a time as the shopper reads it (storefront.shop_time)."""

from django import template

from ..shop_time import format_shop_time

register = template.Library()


@register.filter
def shop_time(moment) -> str:
    """Format an aware datetime in the shop's zone and locale, dated unless it is today."""
    return format_shop_time(moment) if moment else ""
