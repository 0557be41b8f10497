"""Rules for player accounts; each function is one transaction."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mmo.geo import point
from movement.models import PlayerPosition
from players.models import Inventory, Player, PlayerProfile


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
    start point and an inventory holding the starter kit. All or nothing.
    """
    player = Player(
        username=username,
        email=Player.objects.normalize_email(email),
        **player_fields,
    )
    player.set_password(password)
    player.save()
    player_provision(player=player, display_name=display_name)
    return player


@transaction.atomic
def player_provision(*, player: Player, display_name: str = "") -> None:
    """Give an existing player account its profile, position and inventory."""
    PlayerProfile.objects.create(player=player, display_name=display_name or player.username)
    start_lng, start_lat = settings.GAME_START_POINT
    PlayerPosition.objects.create(player=player, location=point(start_lng, start_lat))
    Inventory.objects.create(player=player, **settings.GAME_STARTER_KIT)


def sessions_revoke(*, sessions) -> int:
    """End the given login sessions at once; returns how many were still valid."""
    return sessions.filter(is_valid=True).update(is_valid=False, last_seen_at=timezone.now())
