import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "elsa.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from leaderboard.consumers import ServerSend  # noqa: E402
from quizzes.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # The app serves its own few static files (no separate file server to run).
        "http": ASGIStaticFilesHandler(django_asgi_app),
        # Each route checks the socket's Origin (quizzes/routing.py).
        "websocket": ServerSend(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
