"""RFC 9457 problem documents (`application/problem+json`) and the API's request-body parser.

Every error the API answers is a problem document: `type`, `title`,
`status`, `detail`, and `errors` (field, message) for input that failed
validation. The parser refuses wrong content types (415), bodies over
MAX_BODY_BYTES (413, checked before anything is parsed), malformed JSON and
JSON nested deeper than MAX_DEPTH (400).
"""

import json

from django.http import HttpResponse
from ninja.parser import Parser

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://orderly.example/problems/"
MAX_BODY_BYTES = 32 * 1024
# An order is {"items": [{...}]}: three levels. Far deeper is an attack or a bug.
MAX_DEPTH = 8


class Problem(Exception):
    """An error answered as a problem document."""

    def __init__(
        self, status: int, slug: str, title: str, detail: str, *, errors=None, headers=None
    ):
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.errors = errors
        self.headers = headers or {}

    def response(self) -> HttpResponse:
        body = {
            "type": TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        response = HttpResponse(json.dumps(body), status=self.status, content_type=MEDIA_TYPE)
        for name, value in self.headers.items():
            response[name] = value
        return response


def invalid(errors: list[dict], detail: str = "The request has invalid fields.") -> Problem:
    return Problem(422, "validation-error", "Invalid request", detail, errors=errors)


def _depth(value) -> int:
    """How deeply `value` nests lists and objects (iterative: no recursion limit to hit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def check_body_size(request, *, actual: int = 0) -> None:
    """413 for a declared or actual body over MAX_BODY_BYTES, before it is parsed."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if max(declared, actual) > MAX_BODY_BYTES:
        raise Problem(
            413,
            "body-too-large",
            "Request body too large",
            f"The body may be at most {MAX_BODY_BYTES} bytes.",
        )


class ProblemParser(Parser):
    """JSON only, size-limited, shallow; each refusal a Problem (see api.views' handlers)."""

    def parse_body(self, request):
        if request.content_type != "application/json":
            raise Problem(
                415,
                "unsupported-media-type",
                "Unsupported media type",
                "Send the body as application/json.",
            )
        check_body_size(request, actual=len(request.body))
        too_deep = Problem(
            400,
            "too-deeply-nested",
            "Body nested too deeply",
            f"The JSON body may nest at most {MAX_DEPTH} levels.",
        )
        try:
            data = json.loads(request.body)
        except RecursionError:  # deeper than the interpreter's own limit
            raise too_deep from None
        except ValueError:
            raise Problem(
                400, "malformed-json", "Malformed JSON", "The body is not valid JSON."
            ) from None
        if _depth(data) > MAX_DEPTH:
            raise too_deep
        try:
            # JSON may escape lone surrogates (\ud800); no database column can store them.
            json.dumps(data, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise Problem(
                400, "malformed-json", "Malformed JSON", "The body holds invalid Unicode."
            ) from None
        return data
