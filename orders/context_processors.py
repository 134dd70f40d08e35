from django.conf import settings

from .cart import Cart


def cart(request):
    """The cart's item count for the header, on every page."""
    if not hasattr(request, "session"):
        return {}
    return {"cart_count": len(Cart(request.session))}


def shop(request):
    """The shop's name and currency, for every page."""
    return {"shop_name": settings.SHOP_NAME, "currency": settings.SHOP_CURRENCY}


def payment_gateway(request):
    """Where the card forms' script tokenizes cards, and the key it sends (both public)."""
    return {
        "payment_gateway": {
            "public_url": settings.PAYMENT_GATEWAY_PUBLIC_URL,
            "publishable_key": settings.PAYMENT_GATEWAY_PUBLISHABLE_KEY,
        }
    }
