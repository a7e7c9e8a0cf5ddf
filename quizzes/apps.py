from django.apps import AppConfig
from django.conf import settings


class QuizzesConfig(AppConfig):
    name = "quizzes"
    verbose_name = "Quizzes"

    def ready(self) -> None:
        from leaderboard.hub import hub

        from .deadlines import move_sessions_on

        # Every web process moves on the sessions it serves when their deadlines pass,
        # so a quiz never waits for a Celery worker (decision 10).
        hub.every(settings.ELSA["DEADLINE_POLL_SECONDS"], move_sessions_on)
