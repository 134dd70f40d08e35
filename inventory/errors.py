class InventoryError(Exception):
    """Base of the inventory app's domain errors; views show the message."""


class UnknownProduct(InventoryError):
    def __init__(self, product_id):
        super().__init__("That product does not exist or is no longer sold.")
        self.product_id = product_id


class OutOfStock(InventoryError):
    def __init__(self, product, requested: int):
        if product.stock == 0:
            message = f"Sorry, {product.name} is sold out."
        else:
            message = (
                f"Only {product.stock} of {product.name} left in stock (you asked for {requested})."
            )
        super().__init__(message)
        self.product = product
        self.requested = requested
