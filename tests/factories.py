from decimal import Decimal

import factory

from inventory.models import Product


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"TST-{n:04d}")
    slug = factory.Sequence(lambda n: f"test-product-{n}")
    name = factory.Sequence(lambda n: f"Test product {n}")
    category = "Coffee"
    price = Decimal("10.00")
    stock = 10


def create_order(
    lines: dict,
    *,
    status: str = "paid",
    created_at=None,
    email: str = "ada@example.com",
):
    """An order with its items and payment, as checkout leaves them, in any status and at any time.

    Nothing is published and stock is not touched: for tests of what reads
    orders (reports, digests, stock sync). Tests of stock changes use
    orders.services.place_order.
    """
    from django.utils import timezone

    from orders.models import Order, OrderItem, Payment

    total = sum((product.price * quantity for product, quantity in lines.items()), Decimal("0"))
    order = Order.objects.create(
        email=email,
        full_name="Ada Lovelace",
        shipping_address="12 Analytical Row\nLondon",
        status=status,
        total=total,
    )
    for product, quantity in lines.items():
        OrderItem.objects.create(
            order=order,
            product=product,
            sku=product.sku,
            name=product.name,
            unit_price=product.price,
            quantity=quantity,
        )
    payment_status = {
        Order.Status.PAID: Payment.Status.SUCCEEDED,
        Order.Status.CANCELLED: Payment.Status.DECLINED,
    }.get(status, Payment.Status.PENDING)
    Payment.objects.create(
        order=order,
        idempotency_key=f"order-{order.public_id}-charge",
        amount=total,
        currency=order.currency,
        card_last4="4242",
        status=payment_status,
        settled_at=None if payment_status == Payment.Status.PENDING else timezone.now(),
    )
    if created_at is not None:
        Order.objects.filter(pk=order.pk).update(created_at=created_at)
        order.refresh_from_db()
    return order
