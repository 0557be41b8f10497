from django.apps import AppConfig


class MovementConfig(AppConfig):
    name = "movement"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import signals  # noqa: F401  (keeps the in-memory world in step with the data)
