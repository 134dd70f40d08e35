from django import forms

from safetext.validators import LineField, MultiLineField, SafeEmailField

from .gateway import TOKEN

NO_TOKEN = "Enter your card number above. Card entry needs JavaScript turned on."  # noqa: S105


class CardForm(forms.Form):
    """The card, as the gateway's single-use token: the page's script tokenized the number.

    The number itself has no field here: the checkout page's card input has
    no name, so the browser never posts it (static/js/card-entry.js sends it
    to the gateway and puts the token here).
    """

    payment_method = LineField(
        max_length=80,
        widget=forms.HiddenInput(attrs={"data-card-token": ""}),
        error_messages={"required": NO_TOKEN},
    )

    def clean_payment_method(self):
        token = self.cleaned_data["payment_method"]
        if not TOKEN.fullmatch(token):
            raise forms.ValidationError("Please enter your card again.")
        return token


class CheckoutForm(CardForm):
    field_order = ["full_name", "email", "shipping_address", "payment_method"]

    # Lengths are the columns' (Order.full_name 120, Order.email 254); the
    # address is a text column, kept to what an invoice can print.
    full_name = LineField(
        label="Full name", max_length=120, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = SafeEmailField(label="Email", widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    shipping_address = MultiLineField(
        label="Shipping address",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
    )

    def clean_email(self):
        return self.cleaned_data["email"].lower()
