from channels.auth import AuthMiddleware
from channels.sessions import SessionMiddlewareStack
from django.urls import re_path

from live.origins import SameOriginOnly

from .consumers import HostConsumer, PlayerConsumer
from .models import JOIN_CODE_PATTERN

CODE = rf"(?P<code>{JOIN_CODE_PATTERN})"

# Every socket refuses a foreign Origin (cross-site WebSocket hijacking with a player's or
# host's cookie). Browsers always send one, so a page's socket without it is refused too.
# Only these two routes read the session cookie (a player's identity; the host's login):
# the big screens' and the feed's connects skip parsing it and wrapping every send
# (profiled: the send wrapper alone, 8% of the busy samples in a burst of 2,000 screens).
websocket_urlpatterns = [
    re_path(rf"^ws/play/{CODE}/?$", SameOriginOnly(SessionMiddlewareStack(PlayerConsumer.as_asgi()))),
    # Only the host screen needs the Django user: resolving it costs every other connect
    # a hop to the database thread (profiled: a fifth of the event loop in a join burst).
    re_path(rf"^ws/host/{CODE}/?$", SameOriginOnly(SessionMiddlewareStack(AuthMiddleware(HostConsumer.as_asgi())))),
]
