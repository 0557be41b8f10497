"""Which WebSocket handshakes are let through."""

from channels.security.websocket import OriginValidator
from django.conf import settings

DEVELOPMENT_ORIGINS = ["localhost", "127.0.0.1", "[::1]"]


def allowed_origins() -> list[str]:
    """WEBSOCKET_ALLOWED_ORIGINS, or else the host names the server answers to."""
    allowed = list(settings.WEBSOCKET_ALLOWED_ORIGINS or settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = DEVELOPMENT_ORIGINS
    return allowed


class BrowserOriginValidator(OriginValidator):
    """
    Browsers send the page's Origin with a WebSocket handshake: it must be an
    allowed origin, so that no other site can open a socket on a visitor's
    behalf. Native and mobile clients send no Origin; they are let through,
    since a connection is worth nothing before it authenticates with a token.
    """

    def __init__(self, application):
        # The allowed origins are read at every handshake, not fixed here.
        super().__init__(application, allowed_origins=None)

    def valid_origin(self, parsed_origin):
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)

    def validate_origin(self, parsed_origin):
        try:
            return any(
                pattern == "*" or self.match_allowed_origin(parsed_origin, pattern)
                for pattern in allowed_origins()
            )
        except ValueError:  # a port that is no number, or out of range
            return False
