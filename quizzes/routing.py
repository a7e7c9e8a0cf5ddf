from django.urls import re_path

from live.origins import SameOriginOnly

from .consumers import HostConsumer, PlayerConsumer
from .models import JOIN_CODE_PATTERN

CODE = rf"(?P<code>{JOIN_CODE_PATTERN})"

# Every socket refuses a foreign Origin (cross-site WebSocket hijacking with a player's or
# host's cookie). Browsers always send one, so a page's socket without it is refused too.
websocket_urlpatterns = [
    re_path(rf"^ws/play/{CODE}/?$", SameOriginOnly(PlayerConsumer.as_asgi())),
    re_path(rf"^ws/host/{CODE}/?$", SameOriginOnly(HostConsumer.as_asgi())),
]
