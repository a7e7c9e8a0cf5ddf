from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from leaderboard.views import livescore
from quizzes import converters  # noqa: F401 (registers <code:...>)
from quizzes.lookup import find_board

admin.site.site_header = "ELSA Live Quiz"
admin.site.site_title = "ELSA Live Quiz"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("monitoring.urls")),
    # The leaderboard's big screen, finding boards by the quiz's join codes.
    path("livescore/<code:code>", livescore, {"find_board": find_board}, name="livescore"),
    path("", include("quizzes.urls")),
    # Question pictures (Django's storage API): served here in the demo and the tests;
    # in compose nginx serves /media/ from the shared volume before a request gets here.
    re_path(r"^media/(?P<path>.+)$", serve, {"document_root": settings.MEDIA_ROOT}),
]
