"""Prices as shoppers read them: the shop's currency in the shop's locale (Babel/CLDR)."""

from decimal import Decimal

from babel.numbers import format_currency
from django.conf import settings


def format_money(amount: Decimal | int | float | str, currency: str | None = None) -> str:
    """Format an amount for the shop's locale: 19.9 -> "€19.90" (en_IE) or "19,90 €" (de_DE).

    `currency` defaults to settings.SHOP_CURRENCY; the locale is settings.SHOP_LOCALE.
    """
    return format_currency(
        Decimal(str(amount)),
        currency or settings.SHOP_CURRENCY,
        locale=settings.SHOP_LOCALE,
    )
