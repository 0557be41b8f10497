"""Which WebSocket handshakes are let through."""

from channels.security.websocket import OriginValidator
from django.conf import settings


class BrowserOriginValidator(OriginValidator):
    """
    Browsers send the page's Origin with a WebSocket handshake: it must be one
    of ALLOWED_HOSTS, so that no other site can open a socket on a visitor's
    behalf. Native and mobile clients send no Origin; they are let through,
    since a connection is worth nothing before it authenticates with a token.
    """

    def __init__(self, application):
        allowed = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not allowed:
            allowed = ["localhost", "127.0.0.1", "[::1]"]
        super().__init__(application, allowed)

    def valid_origin(self, parsed_origin):
        if parsed_origin is None:
            return True
        return super().valid_origin(parsed_origin)
