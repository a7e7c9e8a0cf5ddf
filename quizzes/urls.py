from django.urls import path

from . import views

app_name = "quizzes"

urlpatterns = [
    path("", views.home, name="home"),
    path("join", views.join, name="join"),
    path("play/<str:code>", views.play, name="play"),
    path("host/<str:code>", views.host, name="host"),
    path("host/<str:code>/next", views.host_next, name="host_next"),
    path("qr/<str:code>.svg", views.qr, name="qr"),
    path("livescore/<str:code>", views.livescore, name="livescore"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
]
