from channels.auth import AuthMiddlewareStack
from django.urls import path

from mmo.socket.admission import SocketDoor
from movement.consumers import GameConsumer
from movement.staff_socket import StaffMapConsumer

GAME_SOCKET_PATH = "ws/game/"
STAFF_MAP_SOCKET_PATH = "ws/staff/map/"

websocket_urlpatterns = [
    # Refused at the handshake while the process has too many logins in hand.
    path(GAME_SOCKET_PATH, SocketDoor(GameConsumer.as_asgi())),
    # The admin's session cookie authenticates staff; the game's socket uses tokens.
    path(STAFF_MAP_SOCKET_PATH, AuthMiddlewareStack(StaffMapConsumer.as_asgi())),
]
