from channels.auth import AuthMiddleware
from django.urls import re_path

from live.origins import SameOriginOnly

from .consumers import HostConsumer, PlayerConsumer
from .models import JOIN_CODE_PATTERN

CODE = rf"(?P<code>{JOIN_CODE_PATTERN})"

# Every socket refuses a foreign Origin (cross-site WebSocket hijacking with a player's or
# host's cookie). Browsers always send one, so a page's socket without it is refused too.
websocket_urlpatterns = [
    re_path(rf"^ws/play/{CODE}/?$", SameOriginOnly(PlayerConsumer.as_asgi())),
    # Only the host screen needs the Django user: resolving it costs every other connect
    # a hop to the database thread (profiled: a fifth of the event loop in a join burst).
    re_path(rf"^ws/host/{CODE}/?$", SameOriginOnly(AuthMiddleware(HostConsumer.as_asgi()))),
]
