"""Arbitrary and hostile text for the property tests, and a clean database per example.

Hypothesis runs many examples inside one pytest test, so each example runs
in a savepoint that is rolled back: what one example stores never leaks
into the next, and "rejected input changes nothing" is checked against a
known starting point.
"""

import contextlib
import os

from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Modest counts keep the suite fast (issue 12: under 90 s for all of these);
# no deadline, because PostgreSQL and PDF rendering vary on a busy machine.
# `HYPOTHESIS_EXAMPLES=500 ./scripts/test tests/properties` searches harder.
PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "25")),
    deadline=None,
    # Fixtures (admin_client) are shared by the examples on purpose: each
    # example's own writes are rolled back (rolled_back below).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

HOSTILE_PIECES = [
    "\x00",
    "\x07",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\r\n",
    "\n",
    "\t",
    "\u200f",  # right-to-left mark
    "\u202e",  # right-to-left override
    "\u200b",  # zero width space
    "\u0301",  # combining acute accent
    "\ufeff",
    "<img src=\"/usr/share/icons/x.png\" width='60'/>",
    '<a href="https://phish.example/pay">Pay</a>',
    "<script>alert(1)</script>",
    "{{ shop_name }}",
    "{% now 'Y' %}",
    '=HYPERLINK("x")',
    "&amp;",
    "'",
    '"',
    "Zoë O'Brien & Søn",
    "Αλέξανδρος",
    "Фёдор",
    "山田",
    "やまだ",
    "김",
    "😀",
    "אדה",
    "٤٢",
    "  ",
]

# Every Unicode category (hypothesis' default alphabet: all code points but
# surrogates), with the pieces above mixed in, and now and then very long.
hostile_text = st.one_of(
    st.text(max_size=30),
    st.lists(st.one_of(st.sampled_from(HOSTILE_PIECES), st.text(max_size=4)), max_size=6).map(
        "".join
    ),
    st.text(min_size=200, max_size=600),
)

# Names a shop should accept: letters of the scripts the invoice draws, with spaces,
# apostrophes, ampersands and markup-looking characters.
typical_name = st.text(
    alphabet=st.one_of(
        st.characters(codec="latin-1", categories=["L", "P", "S", "Zs"]),
        st.sampled_from("ΑαΩωΦφЖжЯяЁё山田太郎やまだ김민준<>&'\"/=-"),
    ),
    min_size=1,
    max_size=60,
).filter(lambda text: text.strip())

# Text a shopper may type and the shop should take: any character but controls,
# with the printable hostile pieces (markup, template syntax, RTL marks, emoji).
printable_text = (
    st.lists(
        st.one_of(
            st.sampled_from([piece for piece in HOSTILE_PIECES if piece.isprintable()]),
            st.text(alphabet=st.characters(exclude_categories=["Cc", "Cs"]), max_size=8),
        ),
        min_size=1,
        max_size=6,
    )
    .map("".join)
    .filter(lambda text: text.strip() and len(" ".join(text.split())) <= 120)
)

shopper_text = st.one_of(typical_name, hostile_text)
acceptable_text = st.one_of(typical_name, printable_text)
emails = st.one_of(st.emails(), hostile_text)


@contextlib.contextmanager
def rolled_back():
    """Run the block in a savepoint and undo everything it stored."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


# --- the invoice's scripts (tests/reports/test_invoice_text.py) -----------------------
# Words in the scripts the invoice must draw with embedded fonts: CJK (the Unified
# Ideographs every CJK font has, kana, hangul), right-to-left scripts with their marks
# (Hebrew with points, Arabic with harakat and Arabic-Indic digits) and Latin, Greek
# and Cyrillic with combining marks. Words mix on one line, so bidi runs interleave.
_COMBINING = st.sampled_from("\u0300\u0301\u0302\u0303\u0308\u030a\u030c\u0327\u0328")
_HEBREW_POINTS = st.sampled_from("\u05b0\u05b4\u05b7\u05b8\u05bc\u05c1\u05c2\u05b9")
_HARAKAT = st.sampled_from("\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652")
_ARABIC_LETTERS = st.sampled_from(
    [chr(code) for code in range(0x0621, 0x064B) if not 0x063B <= code <= 0x0640]
)


def _word(letters, marks=None, *, max_size=7):
    """A word of `letters`, each now and then followed by one of `marks`."""
    letter = letters if marks is None else st.tuples(letters, st.one_of(st.just(""), marks))
    return st.lists(letter, min_size=1, max_size=max_size).map(
        lambda parts: "".join(part if isinstance(part, str) else "".join(part) for part in parts)
    )


invoice_script_words = st.one_of(
    _word(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), max_size=4),
    _word(st.characters(min_codepoint=0x3041, max_codepoint=0x3096), max_size=5),
    _word(st.characters(min_codepoint=0x30A1, max_codepoint=0x30FA), max_size=5),
    _word(st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), max_size=4),
    _word(st.characters(min_codepoint=0x05D0, max_codepoint=0x05EA), _HEBREW_POINTS),
    _word(_ARABIC_LETTERS, _HARAKAT),
    _word(st.characters(min_codepoint=0x0660, max_codepoint=0x0669), max_size=3),
    _word(st.sampled_from("abcdefghijklmnopqrstuvwxyzAEIOUZ"), _COMBINING),
    _word(st.characters(min_codepoint=0x03B1, max_codepoint=0x03C9)),
    _word(st.characters(min_codepoint=0x0430, max_codepoint=0x044F)),
    st.sampled_from(["12", "3-5", "山田", "東京都", "אדה", "محمد", "Zoe\u0308"]),
)
invoice_script_line = st.lists(invoice_script_words, min_size=1, max_size=5).map(" ".join)
