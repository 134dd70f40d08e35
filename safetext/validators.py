"""Input rules shared by every form: no control characters, ASCII digits only."""

import re
import unicodedata

from django import forms

# Newline is the one control character a multi-line field (an address) may hold.
LINE_BREAK = "\n"
CONTROL_MESSAGE = "Remove the control character {character} (it cannot be stored or printed)."
ASCII_DIGITS = re.compile(r"[0-9]+")


def first_control_character(value: str, *, allow: str = "") -> str | None:
    """The first character of Unicode category Cc (C0, DEL, C1) not in `allow`, or None.

    Category Cc is what PostgreSQL refuses (NUL) or what terminals, PDFs and
    e-mail headers may interpret; format characters (Cf: RTL marks, zero
    width joiners) are ordinary text in names and are allowed.
    """
    for character in value:
        if character not in allow and unicodedata.category(character) == "Cc":
            return character
    return None


def describe_character(character: str) -> str:
    return f"U+{ord(character):04X}"


def refuse_control_characters(value: str, *, allow: str = "") -> None:
    """Raise ValidationError naming the first control character in `value`."""
    character = first_control_character(value, allow=allow)
    if character is not None:
        raise forms.ValidationError(
            CONTROL_MESSAGE.format(character=describe_character(character)),
            code="control_character",
        )


def is_ascii_digits(value: str) -> bool:
    """True for 0-9 only: str.isdigit() also accepts Arabic-Indic and other digits."""
    return ASCII_DIGITS.fullmatch(value) is not None


class RefusesControlCharacters:
    """Form field mixin: refuse control characters (but `allowed_controls`) with a clear message.

    The check runs before the field's validators, so a NUL gets this one
    message rather than Django's generic one as well.
    """

    allowed_controls = ""

    def validate(self, value):
        super().validate(value)
        if isinstance(value, str):
            refuse_control_characters(value, allow=self.allowed_controls)


class LineField(RefusesControlCharacters, forms.CharField):
    """One line of text; runs of whitespace are folded into one space.

    Folded because every place the text goes (HTML, PDF paragraphs) shows a
    run as one space: what is stored is then exactly what is shown.
    """

    def to_python(self, value):
        value = super().to_python(value)
        return value if first_control_character(value) else " ".join(value.split())


class MultiLineField(RefusesControlCharacters, forms.CharField):
    """Several lines (an address): CR LF is stored as LF; each line trimmed and folded."""

    allowed_controls = LINE_BREAK

    def to_python(self, value):
        value = super().to_python(value).replace("\r\n", LINE_BREAK)
        if first_control_character(value, allow=LINE_BREAK):
            return value
        lines = (" ".join(line.split()) for line in value.split(LINE_BREAK))
        return LINE_BREAK.join(line for line in lines if line)


class SafeEmailField(RefusesControlCharacters, forms.EmailField):
    """An e-mail address that fits the model's column (254) and holds no control characters.

    Django's form EmailField accepts 320 characters, and quoted local parts
    with control characters; the model's EmailField is varchar(254).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)


class SecretField(RefusesControlCharacters, forms.CharField):
    """A password: kept exactly as typed (no strip), but no control characters."""

    def __init__(self, **kwargs):
        kwargs.setdefault("strip", False)
        super().__init__(**kwargs)
