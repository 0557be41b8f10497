from django.apps import AppConfig


class MovementConfig(AppConfig):
    name = "movement"
    default_auto_field = "django.db.models.BigAutoField"
