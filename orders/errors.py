from jobs.errors import PermanentError


class OrderError(Exception):
    """Base of the orders app's domain errors; views show the message to the shopper."""


class EmptyCart(OrderError):
    def __init__(self):
        super().__init__("Your cart is empty.")


class InvalidQuantity(OrderError):
    def __init__(self, raw):
        super().__init__("Quantity must be a whole number between 1 and 99.")
        self.raw = raw


class PaymentDeclined(PermanentError):
    """The gateway refused the card. Not retried."""


class PaymentMethodUnusable(OrderError):
    """The card token cannot pay: unknown, another shop's, used or expired. Nothing was done."""


class CannotPayAgain(OrderError):
    """The order cannot take another card now (paid, being paid, or given up on)."""


# What a shopper (or API client) is told when the gateway could not check the card token.
GATEWAY_UNREACHABLE = (
    "We could not reach the payment provider to check your card. Nothing was charged; "
    "please try again in a moment."
)
