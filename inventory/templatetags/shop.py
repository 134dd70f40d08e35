"""Template helpers for shop pages: `{% load shop %}`.

- `{{ amount|money }}` or `{{ amount|money:order.currency }}`: a price in the shop's locale.
- `{% product_image product %}`: the product's picture (see inventory.artwork).
"""

from django import template
from django.utils.html import format_html

from inventory.artwork import product_artwork_data_uri
from inventory.money import format_money

register = template.Library()


@register.filter
def money(amount, currency=None):
    """Format a price for the shop's locale; an empty value stays empty."""
    if amount is None or amount == "":
        return ""
    return format_money(amount, currency or None)


@register.simple_tag
def product_image(product, size="card"):
    """An <img> of the product's picture. Decorative (alt=""): its name is always next to it."""
    width, height = (480, 360) if size == "large" else (240, 180)
    return format_html(
        '<img class="product-image product-image--{}" src="{}" width="{}" height="{}" alt=""'
        ' decoding="async">',
        size,
        product_artwork_data_uri(category=product.category, name=product.name, sku=product.sku),
        width,
        height,
    )
