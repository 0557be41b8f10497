"""Rules for player accounts and login sessions; each function is one transaction."""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from mmo import realtime
from players.models import Player, Session
from players.repositories import (
    InventoryRepository,
    PlayerRepository,
    ProfileRepository,
    SessionRepository,
)
from players.signals import player_provisioned
from players.tokens import SESSION_CLAIM, TokenPair, tokens_for_session


class AuthenticationError(Exception):
    """Credentials or a token were refused; the message is safe to show."""


@dataclass(frozen=True)
class Login:
    player: Player
    session: Session
    tokens: TokenPair


@transaction.atomic
def player_register(
    *,
    username: str,
    email: str,
    password: str | None,
    display_name: str = "",
    **player_fields,
) -> Player:
    """
    Create a player with everything the game needs: profile, a position at the
    start point and an inventory holding the starter kit. All or nothing; a
    taken username or email raises PlayerConflict.
    """
    player = PlayerRepository.create(
        username=username, email=email, password=password, **player_fields
    )
    player_provision(player=player, display_name=display_name)
    return player


@transaction.atomic
def player_provision(*, player: Player, display_name: str = "") -> None:
    """
    Give an existing player account its profile, inventory and, through the
    apps above this one (player_provisioned), its place in the world: all in
    this transaction.
    """
    ProfileRepository.create(player=player, display_name=display_name or player.username)
    InventoryRepository.create(player=player, counts=settings.GAME_STARTER_KIT)
    player_provisioned.send(sender=Player, player=player)


@transaction.atomic
def session_start(player: Player, *, ip_address: str | None, user_agent: str) -> Login:
    """A new session of an authenticated player, and its tokens: one INSERT."""
    session = SessionRepository.build(player=player, ip_address=ip_address, user_agent=user_agent)
    tokens = tokens_for_session(session)
    session.refresh_jti = tokens.refresh_jti
    SessionRepository.insert(session)
    return Login(player=player, session=session, tokens=tokens)


@transaction.atomic
def player_register_and_login(
    *, username: str, email: str, password: str, display_name: str, ip_address, user_agent: str
) -> Login:
    player = player_register(
        username=username, email=email, password=password, display_name=display_name
    )
    return session_start(player, ip_address=ip_address, user_agent=user_agent)


def player_login(*, login: str, password: str, ip_address, user_agent: str) -> Login:
    """Log in by username or email; every success opens a new session."""
    player = PlayerRepository.by_login(login)
    if player is None:
        # Hash anyway, so that response time does not tell which logins exist.
        Player().set_password(password)
        raise AuthenticationError("Wrong login or password.")
    if not player.check_password(password):
        raise AuthenticationError("Wrong login or password.")
    if not player.is_active:
        raise AuthenticationError("This account is deactivated.")
    with transaction.atomic():
        PlayerRepository.record_login(player)
        return session_start(player, ip_address=ip_address, user_agent=user_agent)


def session_refresh(*, refresh_token: str) -> TokenPair:
    """
    New tokens for a refresh token, which is used up: only the newest refresh
    token of a session works. An older one coming back means a copy is in
    someone else's hands, so the session ends.
    """
    try:
        token = RefreshToken(refresh_token)
        session_id = uuid.UUID(str(token[SESSION_CLAIM]))
        player_id = str(token[settings.SIMPLE_JWT["USER_ID_CLAIM"]])
    except (TokenError, KeyError, ValueError) as error:
        raise AuthenticationError("The refresh token is invalid or expired.") from error

    reused = False
    with transaction.atomic():
        session = SessionRepository.get_for_update(session_id)
        if session is None or str(session.player_id) != player_id or not session.is_active:
            raise AuthenticationError("This session has ended; log in again.")
        if token["jti"] != session.refresh_jti:
            _end_sessions(SessionRepository.only(session.pk))
            reused = True
        else:
            player = PlayerRepository.get_by_id(session.player_id)
            if player is None or not player.is_active:
                raise AuthenticationError("This account is deactivated.")
            tokens = tokens_for_session(session)
            session.refresh_jti = tokens.refresh_jti
            session.last_seen_at = timezone.now()
            SessionRepository.save(session, "refresh_jti", "last_seen_at")
    if reused:
        raise AuthenticationError("This refresh token was already used; the session has ended.")
    return tokens


def _end_sessions(sessions) -> list:
    """Mark the valid ones of `sessions` invalid; their sockets close, on whichever process."""
    ended = SessionRepository.revoke(sessions)
    for session_id in ended:
        realtime.emit(realtime.session_group(session_id), realtime.session_ended())
    return ended


@transaction.atomic
def session_logout(*, session_id) -> None:
    _end_sessions(SessionRepository.only(session_id))


@transaction.atomic
def session_revoke(*, player: Player, session_id) -> bool:
    """End one of the player's own sessions; False if they have none by that id."""
    sessions = SessionRepository.of_player(player.pk).filter(pk=session_id)
    if not sessions.exists():
        return False
    _end_sessions(sessions)
    return True


@transaction.atomic
def sessions_revoke(*, sessions) -> int:
    """End the given sessions at once (staff action); returns how many were valid."""
    return len(_end_sessions(sessions))


@transaction.atomic
def player_change_password(
    *, player: Player, current_password: str, new_password: str, keep_session_id
) -> int:
    """Change the password and end every other session; returns how many ended."""
    if not player.check_password(current_password):
        raise AuthenticationError("The current password is wrong.")
    validate_password(new_password, user=player)
    player.set_password(new_password)
    PlayerRepository.update(player, password=player.password)
    others = SessionRepository.of_player(player.pk).exclude(pk=keep_session_id)
    return len(_end_sessions(others))


@transaction.atomic
def player_update_profile(*, player: Player, **changes) -> None:
    """Change the fields a player may set: display name, bio, avatar URL."""
    if "avatar_url" in changes:
        PlayerRepository.update(player, avatar_url=changes.pop("avatar_url"))
    if changes:
        ProfileRepository.update(player.pk, **changes)


@transaction.atomic
def player_delete(*, player: Player, password: str) -> None:
    """Delete one's own account with everything it owns; needs the password."""
    if not player.check_password(password):
        raise AuthenticationError("The password is wrong.")
    PlayerRepository.delete(player)
