from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = "Live transport"

    def ready(self) -> None:
        from monitoring import health

        from .redis import sync_client

        health.register("redis", lambda: bool(sync_client().ping()))
