"""Times as shoppers read them: the shop's time zone and locale (Babel/CLDR), with the zone named.

A bare "18:21" is ambiguous to a shopper in another zone and wrong by a day
after midnight, so every time on the shopper's pages carries the zone, and
the date unless it is today (in the shop's zone).
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_skeleton, get_datetime_format
from django.conf import settings
from django.utils import timezone

# Zones whose CLDR generic name is "Unknown Region (UTC) Time": named by their abbreviation.
_UTC_NAMES = {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Zulu"}


def format_shop_time(moment: datetime, *, now: datetime | None = None) -> str:
    """Format an aware datetime for the shopper, in settings.TIME_ZONE and settings.SHOP_LOCALE.

    "18:21 Central European Time" today, "Wed 15 Jan, 18:21 Central European
    Time" (in the locale's order and words) on any other day.
    """
    zone = ZoneInfo(settings.TIME_ZONE)
    locale = settings.SHOP_LOCALE
    local = moment.astimezone(zone)
    today = (now or timezone.now()).astimezone(zone).date()
    clock = format_skeleton("Hm", local, tzinfo=zone, locale=locale)
    if local.date() != today:
        day = format_skeleton("MMMEd", local, tzinfo=zone, locale=locale)
        clock = get_datetime_format("medium", locale=locale).format(clock, day)
    if settings.TIME_ZONE in _UTC_NAMES:
        zone_name = "UTC"
    else:
        zone_name = format_datetime(local, "vvvv", tzinfo=zone, locale=locale)
    return f"{clock} {zone_name}"
