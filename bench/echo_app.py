"""
The game's ASGI application with a bare Channels echo consumer beside it, at
/ws/echo/, behind the same middleware, router and origin check: the ceiling that
bench/websocket.py holds the game's moves against.

`without_direct_frames` is the same application with the direct frame writer
hidden from the consumers, which then send every frame through the server.
"""

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import path

from mmo.asgi import django_asgi_app
from mmo.servers.backlog import WRITE_FRAME, SendBacklogLimit
from mmo.websocket_security import BrowserOriginValidator
from movement.routing import websocket_urlpatterns


class EchoConsumer(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=text_data, bytes_data=bytes_data)


routes = BrowserOriginValidator(
    URLRouter([path("ws/echo/", EchoConsumer.as_asgi()), *websocket_urlpatterns])
)


def hiding_direct_frames(inner):
    async def app(scope, receive, send):
        scope = {key: value for key, value in scope.items() if key != WRITE_FRAME}
        return await inner(scope, receive, send)

    return app


application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": SendBacklogLimit(routes)})
without_direct_frames = ProtocolTypeRouter(
    {"http": django_asgi_app, "websocket": SendBacklogLimit(hiding_direct_frames(routes))}
)
