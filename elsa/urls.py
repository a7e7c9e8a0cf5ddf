from django.contrib import admin
from django.urls import include, path

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
]
