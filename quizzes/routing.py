from django.urls import re_path

from leaderboard.consumers import FeedConsumer, ScreenConsumer

from .consumers import HostConsumer, PlayerConsumer

CODE = r"(?P<code>[A-Za-z0-9]{6})"

websocket_urlpatterns = [
    re_path(rf"^ws/play/{CODE}/?$", PlayerConsumer.as_asgi()),
    re_path(rf"^ws/host/{CODE}/?$", HostConsumer.as_asgi()),
    re_path(rf"^ws/livescore/{CODE}/?$", ScreenConsumer.as_asgi()),
    re_path(rf"^livescore/{CODE}/?$", FeedConsumer.as_asgi()),
]
