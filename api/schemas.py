"""The API's request and response bodies (pydantic, via django-ninja); unknown fields refused."""

from typing import Annotated

from ninja import Field, Schema
from pydantic import ConfigDict

from orders.gateway import TOKEN


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


ProductId = Annotated[int, Field(ge=1, le=2**63 - 1)]
# No control characters: PostgreSQL cannot even compare a string holding NUL.
Sku = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$")]


class OrderItemIn(Strict):
    product: ProductId | Sku = Field(description="The product's id or its SKU.")
    quantity: int = Field(ge=1, le=99)


# The checkout form's rules (safetext's fields), as far as a pattern can say them: no control
# characters (newlines only in the address) and something besides spaces.
ONE_LINE = r"^[^\x00-\x1f\x7f-\x9f]*[A-Za-z0-9][^\x00-\x1f\x7f-\x9f]*$"
LINES = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*[A-Za-z0-9][^\x00-\x09\x0b-\x1f\x7f-\x9f]*$"
EXAMPLE = {
    "items": [{"product": "COF-001", "quantity": 2}],
    "email": "ada@example.com",
    "full_name": "Ada Lovelace",
    "shipping_address": "12 Analytical Row\nLondon",
    "payment_method": "pm_1a2b3c4d5e6f7g8h",
}


class OrderIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})

    items: list[OrderItemIn] = Field(min_length=1, max_length=50)
    email: str = Field(min_length=3, max_length=254, json_schema_extra={"format": "email"})
    full_name: str = Field(min_length=1, max_length=120, pattern=ONE_LINE)
    shipping_address: str = Field(min_length=1, max_length=500, pattern=LINES)
    payment_method: str = Field(
        pattern=f"^{TOKEN.pattern}$",
        description="The single-use card token (`pm_...`) from the gateway's tokenization.",
    )


class StepOut(Schema):
    name: str
    label: str
    state: str = Field(description="pending, done, failed or skipped")
    state_label: str
    detail: str


class OrderOut(Schema):
    public_id: str
    number: str
    status: str
    status_url: str
    headline: str
    final: bool = Field(description="True once every step is done, failed or skipped.")
    steps: list[StepOut]


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    category: str
    price: str
    currency: str
    stock: int


class FieldError(Schema):
    field: str
    message: str


class ProblemOut(Schema):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None
