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
