"""JWTs of a login session: both carry the session id (`sid`)."""

from dataclasses import dataclass

from django.conf import settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_to_epoch

from players.models import Session

SESSION_CLAIM = "sid"


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    refresh_jti: str


def tokens_for_session(session: Session) -> TokenPair:
    """A new access token and refresh token; neither outlives the session."""
    refresh = RefreshToken.for_user(session.player)
    refresh[SESSION_CLAIM] = str(session.pk)
    session_end = datetime_to_epoch(session.expires_at)
    refresh["exp"] = min(refresh["exp"], session_end)
    access = refresh.access_token
    access["exp"] = min(access["exp"], session_end)
    return TokenPair(access=str(access), refresh=str(refresh), refresh_jti=refresh["jti"])


def access_lifetime_seconds() -> int:
    return int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds())
