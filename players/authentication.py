"""
Bearer-token authentication bound to a login session: a token is accepted only
while its session is valid and unexpired and its player active, so logout,
revocation and deactivation take effect at the next request. Both checks are
cached (invalidated on every change) and read in one round trip, so a request
costs no database query.
"""

import uuid

from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken

from players.models import Player
from players.repositories import PlayerRepository, SessionRepository
from players.tokens import SESSION_CLAIM


def player_for_token(validated_token) -> Player:
    """The active player of a valid session named by the token, or AuthenticationFailed."""
    try:
        player_id = uuid.UUID(str(validated_token[api_settings.USER_ID_CLAIM]))
        session_id = uuid.UUID(str(validated_token[SESSION_CLAIM]))
    except (KeyError, ValueError) as error:
        raise InvalidToken("The token names no player or session.") from error
    cached = SessionRepository.cached_with_player(session_id=session_id, player_id=player_id)
    if not SessionRepository.is_active(session_id=session_id, player_id=player_id, cached=cached):
        raise AuthenticationFailed("This session has ended; log in again.", code="session_ended")
    player = PlayerRepository.get_by_id(player_id, cached=cached)
    if player is None:
        raise AuthenticationFailed("The player no longer exists.", code="player_not_found")
    if not player.is_active:
        raise AuthenticationFailed("This account is deactivated.", code="player_inactive")
    return player


class SessionTokenAuthentication(JWTAuthentication):
    def get_user(self, validated_token):
        return player_for_token(validated_token)


def authenticate_access_token(raw_token: str) -> tuple[Player, uuid.UUID]:
    """The player and session of a raw access token (the WebSocket's login)."""
    try:
        token = AccessToken(raw_token)
    except TokenError as error:
        raise AuthenticationFailed("The token is invalid or expired.") from error
    player = player_for_token(token)
    return player, uuid.UUID(str(token[SESSION_CLAIM]))
