from django.apps import AppConfig


class LeaderboardConfig(AppConfig):
    name = "leaderboard"
    verbose_name = "Live leaderboard"

    def ready(self) -> None:
        from live.hub import hub

        from . import consumers, live  # noqa: F401 (consumers: their kinds of socket)

        live.install(hub)
