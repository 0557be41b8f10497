from django.apps import AppConfig


class PlayersConfig(AppConfig):
    name = "players"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import (  # noqa: F401  (receivers for cache invalidation; the OpenAPI scheme)
            schema,
            signals,
        )
