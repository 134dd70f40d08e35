"""Product pictures for the demo catalog, drawn as SVG from a product's category and SKU.

The demo shop has no photographs to ship, so each product gets a flat
illustration: its category's object (a bag of beans, a dripper, a grinder,
a cup, a teapot; for accessories a scale, jar, jug or tamper by name) on a
tinted background. The SKU picks one of a
few shades and where the backdrop circle sits, so neighbouring cards in a
category differ while a product always looks the same. Pure functions:
nothing is stored, and a product added in admin gets a picture too.
"""

import colorsys
import hashlib
from functools import lru_cache
from urllib.parse import quote

WIDTH, HEIGHT = 240, 180

# Category -> base hue (degrees) and saturation of its illustration.
CATEGORY_HUES = {
    "Coffee": (24, 0.45),
    "Brewing": (174, 0.55),
    "Grinders": (215, 0.22),
    "Cups": (14, 0.55),
    "Tea": (112, 0.35),
    "Accessories": (245, 0.40),
}
DEFAULT_HUE = (200, 0.15)

# Each shape is drawn in a 240 x 180 box, around (120, 100). Colours are
# filled in by name: main, dark, light.
SHAPES = {
    "Coffee": (  # a bag of beans with a folded top and a bean on its label
        '<path d="M86 56h68l7 92a7 7 0 0 1-7 7H86a7 7 0 0 1-7-7z" fill="{main}"/>'
        '<path d="M86 56l7-16h54l7 16z" fill="{dark}"/>'
        '<rect x="96" y="84" width="48" height="48" rx="24" fill="{light}"/>'
        '<ellipse cx="120" cy="108" rx="11" ry="16" fill="{dark}" transform="rotate(28 120 108)"/>'
        '<path d="M114 96c8 6 4 18 12 24" stroke="{light}" stroke-width="3" fill="none"/>'
    ),
    "Brewing": (  # a pour-over dripper on a glass carafe
        '<rect x="72" y="48" width="96" height="11" rx="5" fill="{dark}"/>'
        '<path d="M80 59h80l-24 42h-32z" fill="{main}"/>'
        '<path d="M90 110h60l9 38a7 7 0 0 1-7 8H88a7 7 0 0 1-7-8z" fill="{light}"/>'
        '<path d="M85 132h70l4 16a7 7 0 0 1-7 8H88a7 7 0 0 1-7-8z" fill="{dark}"/>'
        '<circle cx="120" cy="107" r="3.5" fill="{dark}"/>'
    ),
    "Grinders": (  # a hand grinder with its crank
        '<rect x="117" y="38" width="6" height="26" fill="{dark}"/>'
        '<rect x="118" y="36" width="48" height="6" rx="3" fill="{dark}"/>'
        '<circle cx="168" cy="39" r="8" fill="{main}"/>'
        '<rect x="98" y="60" width="44" height="14" rx="4" fill="{dark}"/>'
        '<rect x="94" y="72" width="52" height="80" rx="9" fill="{main}"/>'
        '<rect x="94" y="104" width="52" height="9" fill="{light}"/>'
    ),
    "Cups": (  # a cup on a saucer, steaming
        '<ellipse cx="116" cy="148" rx="58" ry="9" fill="{dark}"/>'
        '<path d="M80 84h70v30a35 30 0 0 1-70 0z" fill="{main}"/>'
        '<path d="M150 94h7a13 13 0 0 1 0 26h-10" stroke="{main}" stroke-width="8" fill="none"/>'
        '<path d="M100 72c-6-8 6-12 0-22M116 72c-6-8 6-12 0-22M132 72c-6-8 6-12 0-22"'
        ' stroke="{dark}" stroke-width="4" stroke-linecap="round" fill="none" opacity=".55"/>'
    ),
    "Tea": (  # a round teapot with a leaf on its side
        '<path d="M78 112L52 90l6-5 28 17z" fill="{main}"/>'
        '<path d="M158 96a19 19 0 0 1 0 36" stroke="{main}" stroke-width="8" fill="none"/>'
        '<ellipse cx="118" cy="114" rx="44" ry="36" fill="{main}"/>'
        '<path d="M96 82a22 11 0 0 1 44 0z" fill="{dark}"/>'
        '<circle cx="118" cy="66" r="6" fill="{dark}"/>'
        '<path d="M104 124c4-18 20-26 34-24-2 16-16 26-34 24z" fill="{light}"/>'
        '<path d="M106 122c8-6 16-12 28-20" stroke="{main}" stroke-width="2" fill="none"/>'
    ),
    "Accessories": (  # a kitchen scale with a display
        '<rect x="66" y="98" width="108" height="12" rx="5" fill="{dark}"/>'
        '<rect x="74" y="110" width="92" height="40" rx="9" fill="{main}"/>'
        '<rect x="88" y="121" width="42" height="16" rx="3" fill="{light}"/>'
        '<rect x="93" y="126" width="6" height="6" rx="1" fill="{dark}"/>'
        '<rect x="102" y="126" width="6" height="6" rx="1" fill="{dark}"/>'
        '<rect x="114" y="126" width="11" height="6" rx="1" fill="{dark}"/>'
        '<circle cx="150" cy="129" r="6" fill="{light}"/>'
        '<rect x="96" y="62" width="48" height="36" rx="6" fill="{light}" opacity=".8"/>'
    ),
}
# Accessories are too varied for one object: a product whose name has one of
# these words gets that picture, the rest share the scale.
ACCESSORY_SHAPES = {
    "canister": (  # a jar with a lid and a valve
        '<rect x="88" y="60" width="64" height="14" rx="5" fill="{dark}"/>'
        '<rect x="84" y="72" width="72" height="80" rx="12" fill="{main}"/>'
        '<rect x="96" y="96" width="48" height="30" rx="5" fill="{light}"/>'
        '<circle cx="120" cy="67" r="4" fill="{light}"/>'
    ),
    "jug": (  # a milk jug with a spout
        '<path d="M88 64h60l-6 10 8 70a8 8 0 0 1-8 8H94a8 8 0 0 1-8-8z" fill="{main}"/>'
        '<path d="M88 64l-12-6 14 0z" fill="{main}"/>'
        '<path d="M150 84h6a12 12 0 0 1 12 12v18a12 12 0 0 1-12 12h-8"'
        ' stroke="{dark}" stroke-width="7" fill="none"/>'
        '<path d="M90 112h56l4 32a8 8 0 0 1-8 8H94a8 8 0 0 1-8-8z" fill="{light}" opacity=".6"/>'
    ),
    "tamper": (  # a tamper: round handle, flat base
        '<circle cx="120" cy="66" r="20" fill="{dark}"/>'
        '<path d="M110 82h20l6 40h-32z" fill="{main}"/>'
        '<rect x="86" y="122" width="68" height="22" rx="5" fill="{dark}"/>'
        '<rect x="90" y="126" width="60" height="5" rx="2" fill="{light}" opacity=".6"/>'
    ),
}
ACCESSORY_SHAPES["descaler"] = ACCESSORY_SHAPES["canister"]
ACCESSORY_SHAPES["box"] = ACCESSORY_SHAPES["canister"]

DEFAULT_SHAPE = (  # a parcel, for categories the demo does not know
    '<path d="M80 70l40-18 40 18v58l-40 18-40-18z" fill="{main}"/>'
    '<path d="M80 70l40 18 40-18M120 88v58" stroke="{dark}" stroke-width="4" fill="none"/>'
    '<path d="M100 61l40 18v14" stroke="{light}" stroke-width="6" fill="none"/>'
)


def _hex(hue: float, saturation: float, lightness: float) -> str:
    red, green, blue = colorsys.hls_to_rgb(hue / 360, lightness, saturation)
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


def _shape(category: str, name: str) -> str:
    if category == "Accessories":
        lowered = name.lower()
        for word, shape in ACCESSORY_SHAPES.items():
            if word in lowered:
                return shape
    return SHAPES.get(category, DEFAULT_SHAPE)


@lru_cache(maxsize=512)
def product_artwork_svg(*, category: str, name: str, sku: str) -> str:
    """The product's picture as an SVG document (the same for the same product)."""
    hue, saturation = CATEGORY_HUES.get(category, DEFAULT_HUE)
    seed = hashlib.sha256(sku.encode()).digest()
    shade = seed[0] % 3  # three shades per category
    hue = (hue + (seed[1] % 13) - 6) % 360
    colours = {
        "main": _hex(hue, saturation, 0.38 + 0.07 * shade),
        "dark": _hex(hue, saturation, 0.24 + 0.04 * shade),
        "light": _hex(hue, min(1.0, saturation + 0.1), 0.86),
    }
    background = _hex(hue, saturation * 0.8, 0.94)
    backdrop = _hex(hue, saturation * 0.8, 0.88)
    circle_x = 70 + seed[2] % 100
    circle_y = 60 + seed[3] % 60
    shape = _shape(category, name).format(**colours)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}">'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="{background}"/>'
        f'<circle cx="{circle_x}" cy="{circle_y}" r="74" fill="{backdrop}"/>'
        f'<ellipse cx="120" cy="160" rx="70" ry="6" fill="{backdrop}"/>'
        f"{shape}</svg>"
    )


def product_artwork_data_uri(*, category: str, name: str, sku: str) -> str:
    """The picture as a data: URI for an <img src>, so the catalog needs no extra requests."""
    svg = product_artwork_svg(category=category, name=name, sku=sku)
    return "data:image/svg+xml," + quote(svg, safe=" /:=,.-()")
