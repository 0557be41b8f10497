from django.apps import AppConfig


class AreasConfig(AppConfig):
    name = "areas"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import signals  # noqa: F401  (connects the cache invalidation receivers)
