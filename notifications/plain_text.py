"""Render e-mail subjects and text parts without HTML escaping.

The project's one template engine autoescapes for HTML, which is right for
the HTML part and wrong for text: `Zoë O'Brien & Søn` would arrive as
`O&#x27;Brien &amp; Søn`. A text part is not markup, so it is rendered with
autoescaping off, from the same template loaders.
"""

from django.template import Context
from django.template.loader import get_template


def render_plain_text(template_name: str, context: dict) -> str:
    """The template rendered as plain text: values are inserted exactly, never HTML-escaped."""
    template = get_template(template_name).template  # the engine's Template, below the backend
    return template.render(Context(context, autoescape=False))
