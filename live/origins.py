"""Which pages may open this site's WebSockets: its own origins, compared in full.

Channels' AllowedHostsOriginValidator compares the Origin's host with ALLOWED_HOSTS only,
so a page on another port or scheme of an allowed host (http://quiz.example:8080, or the
plain-HTTP site where TLS is expected) passed. Channels' OriginValidator, given full
origins, compares scheme, host and port: these are the site's public origin (PUBLIC_URL,
the address players are sent to) and CSRF_TRUSTED_ORIGINS, the list Django's own CSRF
check trusts.
"""

from urllib.parse import urlsplit

from channels.security.websocket import OriginValidator
from django.conf import settings


def site_origins() -> list[str]:
    public = urlsplit(settings.ELSA["PUBLIC_URL"])
    return [f"{public.scheme}://{public.netloc}", *settings.CSRF_TRUSTED_ORIGINS]


class SameOriginOnly(OriginValidator):
    """Refuses a socket whose Origin is not one of the site's. With `allow_missing`, a
    socket without Origin is served: not a browser page, so no cookie rides along."""

    def __init__(self, application, *, allow_missing: bool = False):
        super().__init__(application, site_origins())
        self.allow_missing = allow_missing

    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None:
            return self.allow_missing
        try:
            return self.validate_origin(parsed_origin)
        except ValueError:  # a port that is not a number: "http://host:8000.evil.example"
            return False
