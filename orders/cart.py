"""The shopper's cart, kept in the session as {product id: quantity}.

The cart only checks what it can check cheaply (the product exists, the
quantity is not above current stock). Checkout checks again under row locks,
because stock can change between adding to the cart and paying.
"""

from dataclasses import dataclass
from decimal import Decimal

from inventory.errors import OutOfStock, UnknownProduct
from inventory.models import Product
from safetext.validators import is_ascii_digits

from .errors import InvalidQuantity

SESSION_KEY = "cart"
MAX_QUANTITY = 99


@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int

    @property
    def line_total(self) -> Decimal:
        return self.product.price * self.quantity


def parse_quantity(raw) -> int:
    """A quantity typed by a shopper: a whole number from 1 to MAX_QUANTITY, in ASCII digits.

    int() alone would also take "٣", "+3" and "1_0".
    """
    text = str(raw).strip() if raw is not None else ""
    if not is_ascii_digits(text) or len(text) > 2:
        raise InvalidQuantity(raw)
    quantity = int(text)
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidQuantity(raw)
    return quantity


class Cart:
    def __init__(self, session):
        self.session = session
        self._items: dict[str, int] = dict(session.get(SESSION_KEY, {}))

    def __len__(self) -> int:
        return sum(self._items.values())

    def __bool__(self) -> bool:
        return bool(self._items)

    def quantities(self) -> dict[int, int]:
        return {int(product_id): quantity for product_id, quantity in self._items.items()}

    def add(self, *, product_id: int, quantity: int) -> Product:
        product = self._product(product_id)
        self._set(product, self._items.get(str(product.pk), 0) + quantity)
        return product

    def update(self, *, product_id: int, quantity: int) -> Product:
        product = self._product(product_id)
        self._set(product, quantity)
        return product

    def remove(self, *, product_id: int) -> None:
        self._items.pop(str(product_id), None)
        self._save()

    def clear(self) -> None:
        self._items = {}
        self._save()

    def lines(self) -> list[CartLine]:
        products = Product.objects.filter(pk__in=self.quantities(), is_active=True).in_bulk()
        # A product withdrawn since it was added silently leaves the cart.
        return [
            CartLine(product=products[product_id], quantity=quantity)
            for product_id, quantity in self.quantities().items()
            if product_id in products
        ]

    @staticmethod
    def total(lines: list[CartLine]) -> Decimal:
        return sum((line.line_total for line in lines), Decimal("0.00"))

    def _product(self, product_id) -> Product:
        text = str(product_id)
        if not is_ascii_digits(text) or len(text) > 18:  # a bigint, in ASCII digits
            raise UnknownProduct(product_id)
        try:
            return Product.objects.get(pk=int(text), is_active=True)
        except Product.DoesNotExist:
            raise UnknownProduct(product_id) from None

    def _set(self, product: Product, quantity: int) -> None:
        if quantity > MAX_QUANTITY:
            raise InvalidQuantity(quantity)
        if quantity > product.stock:
            raise OutOfStock(product, quantity)
        self._items[str(product.pk)] = quantity
        self._save()

    def _save(self) -> None:
        self.session[SESSION_KEY] = self._items
        self.session.modified = True
