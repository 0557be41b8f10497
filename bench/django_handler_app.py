"""
The game's ASGI application with HTTP served by Django's own ASGI handler
instead of mmo/servers/http.py's: what bench/rest.py compares the two with.
"""

from channels.routing import ProtocolTypeRouter
from django.core.handlers.asgi import ASGIHandler

from mmo.asgi import application as game_application

application = ProtocolTypeRouter({"http": ASGIHandler(), "websocket": game_application})
