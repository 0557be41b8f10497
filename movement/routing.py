from django.urls import path

from movement.consumers import GameConsumer

GAME_SOCKET_PATH = "ws/game/"

websocket_urlpatterns = [
    path(GAME_SOCKET_PATH, GameConsumer.as_asgi()),
]
