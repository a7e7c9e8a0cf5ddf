from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "ELSA Live Quiz"
admin.site.site_title = "ELSA Live Quiz"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("quizzes.urls")),
]
