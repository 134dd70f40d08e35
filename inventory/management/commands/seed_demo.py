"""Fill the catalog with a realistic demo assortment. Safe to run again."""

from decimal import Decimal

from django.core.management.base import BaseCommand
from django.utils.text import slugify

from inventory.models import Product

# (category, name, price, stock, description). A few are deliberately low or
# out of stock so the catalog shows those states.
DEMO_CATALOG = [
    ("Coffee", "Ethiopia Yirgacheffe beans, 250 g", "12.50", 40, "Floral, citrus, tea-like."),
    ("Coffee", "Colombia Huila beans, 250 g", "11.00", 55, "Caramel and red apple."),
    ("Coffee", "Sumatra Mandheling beans, 250 g", "11.90", 3, "Earthy, cedar, dark chocolate."),
    ("Coffee", "House espresso blend, 1 kg", "34.00", 25, "Our everyday espresso."),
    ("Coffee", "Decaf Peru, 250 g", "10.50", 18, "Swiss-water decaffeinated."),
    ("Coffee", "Kenya AA beans, 250 g", "14.20", 0, "Blackcurrant and grapefruit."),
    ("Brewing", "Pour-over dripper", "24.00", 30, "Ceramic cone dripper, size 02."),
    ("Brewing", "Paper filters, 100 pack", "5.90", 120, "Unbleached, fits size 02."),
    ("Brewing", "Gooseneck kettle, 1 l", "49.00", 12, "Stovetop, stainless steel."),
    ("Brewing", "French press, 8 cup", "29.50", 9, "Borosilicate glass, steel frame."),
    ("Brewing", "AeroPress-style brewer", "36.00", 4, "Travel-friendly immersion brewer."),
    ("Brewing", "Cold brew bottle", "27.00", 15, "Makes 1 l overnight."),
    ("Brewing", "Moka pot, 6 cup", "32.00", 2, "Aluminium, gas and electric."),
    ("Grinders", "Hand grinder, conical burr", "79.00", 8, "Stepless, 30 g hopper."),
    ("Grinders", "Electric burr grinder", "149.00", 5, "40 settings, timer dosing."),
    ("Grinders", "Grinder brush", "6.50", 60, "Natural bristles."),
    ("Cups", "Espresso cups, set of 2", "18.00", 22, "Thick-walled porcelain, 80 ml."),
    ("Cups", "Cappuccino cup and saucer", "14.00", 20, "180 ml, glossy white."),
    ("Cups", "Double-wall glass, 250 ml", "16.50", 14, "Keeps the heat in."),
    ("Cups", "Travel mug, 350 ml", "22.00", 33, "Leak-proof lid."),
    ("Cups", "Stoneware mug", "12.00", 1, "Hand-glazed, each one different."),
    ("Tea", "Sencha, 100 g", "9.80", 26, "Steamed green tea from Shizuoka."),
    ("Tea", "Assam breakfast, 250 g", "8.40", 45, "Malty, strong, takes milk."),
    ("Tea", "Earl Grey, 100 g", "7.90", 38, "Bergamot oil, black tea."),
    ("Tea", "Chamomile, 50 g", "6.20", 3, "Whole flowers."),
    ("Tea", "Cast-iron teapot, 0.8 l", "59.00", 6, "Enamelled inside."),
    ("Accessories", "Digital scale, 0.1 g", "28.00", 19, "With brew timer."),
    ("Accessories", "Milk jug, 350 ml", "17.00", 21, "Stainless, for latte art."),
    ("Accessories", "Tamper, 58 mm", "26.00", 7, "Flat base, walnut handle."),
    ("Accessories", "Knock box", "21.00", 11, "Rubber bar, dishwasher safe."),
    ("Accessories", "Descaler, 3 doses", "9.50", 50, "Citric-acid based."),
    ("Accessories", "Airtight canister, 500 g", "19.90", 16, "One-way valve."),
]


class Command(BaseCommand):
    help = "Create or refresh the demo catalog (idempotent: matches products by SKU)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--stock",
            type=int,
            default=None,
            help="Set every product's stock to this (benchmarks use a large number).",
        )

    def handle(self, *args, stock=None, **options):
        created = 0
        for index, (category, name, price, demo_stock, description) in enumerate(DEMO_CATALOG):
            sku = f"{category[:3].upper()}-{index + 1:03d}"
            fields = {
                "slug": slugify(name),
                "name": name,
                "category": category,
                "description": description,
                "price": Decimal(price),
                "is_active": True,
            }
            # Re-running keeps the stock shoppers have already bought down,
            # unless --stock asks for a reset.
            defaults = fields if stock is None else {**fields, "stock": stock}
            _, was_created = Product.objects.update_or_create(
                sku=sku,
                defaults=defaults,
                create_defaults={**fields, "stock": demo_stock if stock is None else stock},
            )
            created += was_created
        self.stdout.write(
            self.style.SUCCESS(f"Demo catalog ready: {len(DEMO_CATALOG)} products ({created} new).")
        )
