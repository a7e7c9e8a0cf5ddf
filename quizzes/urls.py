from django.urls import path, register_converter

from . import views
from .models import JOIN_CODE_PATTERN


class JoinCode:
    """A join code in a URL: any other path (a NUL byte, say) is a 404 before any query."""

    regex = JOIN_CODE_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(JoinCode, "code")

app_name = "quizzes"

urlpatterns = [
    path("", views.home, name="home"),
    path("join", views.join, name="join"),
    path("play/<code:code>", views.play, name="play"),
    path("host/<code:code>", views.host, name="host"),
    path("host/<code:code>/next", views.host_next, name="host_next"),
    path("qr/<code:code>.svg", views.qr, name="qr"),
    path("livescore/<code:code>", views.livescore, name="livescore"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
]
