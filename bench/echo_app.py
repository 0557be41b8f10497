"""
The game's ASGI application with a bare Channels echo consumer beside it, at
/ws/echo/, behind the same middleware, router and origin check: the ceiling that
bench/websocket.py holds the game's moves against.
"""

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import path

from mmo.asgi import django_asgi_app
from mmo.websocket_backlog import SendBacklogLimit
from mmo.websocket_security import BrowserOriginValidator
from movement.routing import websocket_urlpatterns


class EchoConsumer(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=text_data, bytes_data=bytes_data)


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SendBacklogLimit(
            BrowserOriginValidator(
                URLRouter([path("ws/echo/", EchoConsumer.as_asgi()), *websocket_urlpatterns])
            )
        ),
    }
)
