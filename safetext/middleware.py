"""Keep control characters in query strings and cookies away from the views and the database."""

from django.shortcuts import render

from .validators import describe_character, first_control_character


class RefuseControlCharactersInQueryMiddleware:
    """400 with a clear message for a control character in any query parameter name or value.

    PostgreSQL cannot compare text with NUL (a filter like `?category=%00`
    would raise), and no page of the shop means anything by one. Form fields
    (POST) are checked by their form, next to the field.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for name, values in request.GET.lists():
            for text in (name, *values):
                character = first_control_character(text)
                if character is not None:
                    message = (
                        f"The query parameter {name!r} holds the control character "
                        f"{describe_character(character)}. Remove it and try again."
                    )
                    return render(request, "400.html", {"message": message}, status=400)
        return self.get_response(request)


class DropCookiesWithControlCharactersMiddleware:
    """Forget any cookie whose value holds a control character, before sessions read it.

    Django unquotes cookie values, so `sessionid="abcdefgh\\000ijk"` (plain
    ASCII on the wire) reaches the session store as a key with a NUL, which
    PostgreSQL refuses (a 500). No cookie Orderly sets holds one, so such a
    cookie is treated as absent: the visitor gets a fresh session.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        cookies = request.COOKIES
        unreadable = [
            name for name, value in cookies.items() if first_control_character(name + value)
        ]
        for name in unreadable:
            del cookies[name]
        return self.get_response(request)
