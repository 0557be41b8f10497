from django.apps import AppConfig


class MovementConfig(AppConfig):
    name = "movement"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from mmo.socket.registry import autodiscover

        from . import receivers  # noqa: F401  (a new player's position)

        # Every app's socket.py registers its messages with the game's socket,
        # which this app serves (movement/consumers.py).
        autodiscover()
