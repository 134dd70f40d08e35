import re

from django import forms


def luhn_valid(number: str) -> bool:
    """The card-number checksum every real card number satisfies."""
    total = 0
    for index, digit in enumerate(int(d) for d in reversed(number)):
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


class CheckoutForm(forms.Form):
    full_name = forms.CharField(
        label="Full name", max_length=120, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    shipping_address = forms.CharField(
        label="Shipping address",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
    )
    card_number = forms.CharField(
        label="Card number",
        max_length=23,
        help_text="Sandbox test cards: 4242 4242 4242 4242 succeeds, "
        "4000 0000 0000 0002 is declined, 4000 0000 0000 0119 is temporarily "
        "unavailable twice, 4000 0000 0000 0259 is slow.",
        widget=forms.TextInput(
            attrs={"autocomplete": "cc-number", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )

    def clean_full_name(self):
        return self.cleaned_data["full_name"].strip()

    def clean_email(self):
        return self.cleaned_data["email"].lower()

    def clean_card_number(self):
        number = re.sub(r"[\s-]", "", self.cleaned_data["card_number"])
        if not number.isdigit() or not 12 <= len(number) <= 19:
            raise forms.ValidationError("Enter the card number: 12 to 19 digits.")
        if not luhn_valid(number):
            raise forms.ValidationError("That card number is not valid. Check for a typo.")
        return number
