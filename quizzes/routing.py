from django.urls import re_path

from leaderboard.consumers import FeedConsumer, ScreenConsumer

from leaderboard.origins import SameOriginOnly

from .consumers import HostConsumer, PlayerConsumer
from .models import JOIN_CODE_PATTERN

CODE = rf"(?P<code>{JOIN_CODE_PATTERN})"

# Every socket refuses a foreign Origin (cross-site WebSocket hijacking with a player's or
# host's cookie). Browsers always send one, so a page's socket without it is refused too;
# the JSON feed carries no identity and serves API clients that send none (decision 9).
websocket_urlpatterns = [
    re_path(rf"^ws/play/{CODE}/?$", SameOriginOnly(PlayerConsumer.as_asgi())),
    re_path(rf"^ws/host/{CODE}/?$", SameOriginOnly(HostConsumer.as_asgi())),
    re_path(rf"^ws/livescore/{CODE}/?$", SameOriginOnly(ScreenConsumer.as_asgi())),
    re_path(rf"^livescore/{CODE}/?$", SameOriginOnly(FeedConsumer.as_asgi(), allow_missing=True)),
]
