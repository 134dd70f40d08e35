import re

from django import forms

from safetext.validators import LineField, MultiLineField, SafeEmailField, is_ascii_digits


def luhn_valid(number: str) -> bool:
    """The card-number checksum every real card number satisfies."""
    total = 0
    for index, digit in enumerate(int(d) for d in reversed(number)):
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


class CardForm(forms.Form):
    """A card number, checked the same way wherever a shopper gives one."""

    card_number = LineField(
        label="Card number",
        max_length=23,
        help_text="Sandbox test cards: 4242 4242 4242 4242 succeeds, "
        "4000 0000 0000 0002 is declined, 4000 0000 0000 0119 is temporarily "
        "unavailable twice, 4000 0000 0000 0259 is slow.",
        widget=forms.TextInput(
            attrs={"autocomplete": "cc-number", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )

    def clean_card_number(self):
        number = re.sub(r"[ -]", "", self.cleaned_data["card_number"])
        if not is_ascii_digits(number) or not 12 <= len(number) <= 19:
            raise forms.ValidationError("Enter the card number: 12 to 19 digits.")
        if not luhn_valid(number):
            raise forms.ValidationError("That card number is not valid. Check for a typo.")
        return number


class CheckoutForm(CardForm):
    field_order = ["full_name", "email", "shipping_address", "card_number"]

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
