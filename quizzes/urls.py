from django.urls import path

from . import converters, views  # noqa: F401 (converters: registers <code:...>)

app_name = "quizzes"

urlpatterns = [
    path("", views.home, name="home"),
    path("join", views.join, name="join"),
    path("play/<code:code>", views.play, name="play"),
    path("host/<code:code>", views.host, name="host"),
    path("host/<code:code>/next", views.host_next, name="host_next"),
    path("host/<code:code>/options", views.host_options, name="host_options"),
    path("host/<code:code>/kick", views.host_kick, name="host_kick"),
    path("host/<code:code>/report", views.report, name="report"),
    path("host/<code:code>/report.csv", views.report_download, {"file_format": "csv"}, name="report_csv"),
    path("host/<code:code>/report.xlsx", views.report_download, {"file_format": "xlsx"}, name="report_xlsx"),
    path("banks/template.csv", views.bank_template, {"file_format": "csv"}, name="bank_template_csv"),
    path("banks/template.xlsx", views.bank_template, {"file_format": "xlsx"}, name="bank_template_xlsx"),
    path("qr/<code:code>.svg", views.qr, name="qr"),
    path("practice/<code:code>", views.practice_page, name="practice"),
    path("practice/<code:code>/start", views.practice_start, name="practice_start"),
    path("practice/<code:code>/answer", views.practice_answer, name="practice_answer"),
]
