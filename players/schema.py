"""OpenAPI description of the session-bound bearer tokens."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class SessionTokenScheme(SimpleJWTScheme):
    target_class = "players.authentication.SessionTokenAuthentication"
    name = "bearerAuth"
