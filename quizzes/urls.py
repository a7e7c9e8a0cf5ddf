from django.urls import path

from . import converters, views  # noqa: F401 (converters: registers <code:...>)

app_name = "quizzes"

urlpatterns = [
    path("", views.home, name="home"),
    path("join", views.join, name="join"),
    path("play/<code:code>", views.play, name="play"),
    path("host/<code:code>", views.host, name="host"),
    path("host/<code:code>/next", views.host_next, name="host_next"),
    path("qr/<code:code>.svg", views.qr, name="qr"),
]
