"""
ASGI entry point for daphne or uvicorn: HTTP through Django, the game's
WebSocket through Channels. Several processes behind a load balancer share
PostgreSQL and Redis.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmo.settings.base")

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from mmo.websocket_security import BrowserOriginValidator  # noqa: E402
from movement.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": BrowserOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)
