import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "elsa.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.urls import re_path  # noqa: E402

from elsa.collector import tune as tune_collector  # noqa: E402
from leaderboard.consumers import BoardConsumer  # noqa: E402
from live.consumers import ServerSend, lifespan  # noqa: E402
from live.origins import SameOriginOnly  # noqa: E402
from quizzes import routing  # noqa: E402
from quizzes.lookup import find_board_async  # noqa: E402

websocket_urlpatterns = [
    *routing.websocket_urlpatterns,
    # The big screen's fragments, and the JSON feed: it carries no identity, so it serves
    # API clients that send no Origin (decision 9); a foreign Origin is refused.
    re_path(rf"^ws/livescore/{routing.CODE}/?$", SameOriginOnly(BoardConsumer.as_asgi(find_board=find_board_async))),
    re_path(rf"^livescore/{routing.CODE}/?$",
            SameOriginOnly(BoardConsumer.as_asgi(find_board=find_board_async, json_feed=True), allow_missing=True)),
]

application = ProtocolTypeRouter(
    {
        # The app serves its own few static files (no separate file server to run).
        "http": ASGIStaticFilesHandler(django_asgi_app),
        # Identity (the session cookie, the user) only on the routes that have one: quizzes/routing.py.
        "websocket": ServerSend(URLRouter(websocket_urlpatterns)),
        "lifespan": lifespan,
    }
)

tune_collector()  # after everything the application loads (elsa/collector.py)
