from django.shortcuts import get_object_or_404, render

from .models import Product


def catalog(request):
    category = request.GET.get("category", "")
    products = Product.objects.filter(is_active=True)
    categories = products.order_by("category").values_list("category", flat=True).distinct()
    if category:
        products = products.filter(category=category)
    return render(
        request,
        "inventory/catalog.html",
        {"products": products, "categories": categories, "current_category": category},
    )


def product_detail(request, slug):
    product = get_object_or_404(Product, slug=slug, is_active=True)
    return render(request, "inventory/product.html", {"product": product})
