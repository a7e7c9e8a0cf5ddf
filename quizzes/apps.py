from django.apps import AppConfig


class QuizzesConfig(AppConfig):
    name = "quizzes"
    verbose_name = "Quizzes"

    def ready(self) -> None:
        from leaderboard import live as leaderboard_live
        from live.hub import hub
        from monitoring import health

        # metrics registers its collectors; consumers, their kinds of socket (live.metrics).
        from . import consumers, live, metrics, services, tasks  # noqa: F401

        live.install(hub)
        # The board is a cache of the totals this app keeps: how to refill it.
        leaderboard_live.rebuild_with(services.leaderboard_rebuild)
        health.register("broker", tasks.broker_answers)
