from django.urls import register_converter

from .models import JOIN_CODE_PATTERN


class JoinCode:
    """A join code in a URL: any other path (a NUL byte, say) is a 404 before any query."""

    regex = JOIN_CODE_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(JoinCode, "code")
