"""Times as shoppers read them: the shop's zone, named, and the date unless it is today there."""

from datetime import UTC, datetime

from storefront.shop_time import format_shop_time

NOW = datetime(2025, 1, 14, 20, 0, tzinfo=UTC)  # 21:00 in Berlin


def test_a_time_today_in_the_shops_zone_reads_as_a_clock_time_with_the_zone(settings):
    settings.TIME_ZONE, settings.SHOP_LOCALE = "Europe/Berlin", "en_IE"
    moment = datetime(2025, 1, 14, 22, 30, tzinfo=UTC)
    assert format_shop_time(moment, now=NOW) == "23:30 Central European Time"


def test_past_midnight_in_the_shops_zone_is_tomorrow_though_still_today_in_utc(settings):
    settings.TIME_ZONE, settings.SHOP_LOCALE = "Europe/Berlin", "en_IE"
    moment = datetime(2025, 1, 14, 23, 30, tzinfo=UTC)  # 00:30 on the 15th in Berlin
    assert format_shop_time(moment, now=NOW) == "Wed, 15 Jan, 00:30 Central European Time"


def test_the_shops_locale_words_the_date_and_the_zone(settings):
    settings.TIME_ZONE, settings.SHOP_LOCALE = "Europe/Berlin", "de_DE"
    moment = datetime(2025, 1, 15, 8, 5, tzinfo=UTC)
    assert format_shop_time(moment, now=NOW) == "Mi., 15. Jan., 09:05 Mitteleuropäische Zeit"


def test_a_shop_on_utc_says_utc(settings):
    settings.TIME_ZONE, settings.SHOP_LOCALE = "UTC", "en_IE"
    assert format_shop_time(NOW, now=NOW) == "20:00 UTC"
