"""
Cache invalidation for writes that bypass the repositories (the admin, the
shell), closing the sockets of players who can no longer play, and the one
signal this app sends for the apps above it.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

from mmo import cache, realtime
from players.models import Inventory, Player, PlayerProfile, Session
from players.repositories import PlayerRepository, SessionRepository

# Sent inside the transaction that provisions a new player (players.services.
# player_provision), with `player`: the apps above this one, which it must not
# import, add their rows to the new player in that transaction (movement: the
# position at the start point). Registration stays all or nothing.
player_provisioned = Signal()


@receiver([post_save, post_delete], sender=Player, dispatch_uid="players_player_cache")
@receiver([post_save, post_delete], sender=PlayerProfile, dispatch_uid="players_profile_cache")
@receiver([post_save, post_delete], sender=Inventory, dispatch_uid="players_inventory_cache")
def invalidate_player(sender, instance, **kwargs):
    PlayerRepository.invalidate(instance.pk)


@receiver(post_save, sender=Player, dispatch_uid="players_player_sockets_deactivated")
def close_sockets_of_deactivated(sender, instance, **kwargs):
    if not instance.is_active:
        realtime.emit(
            realtime.player_group(instance.pk),
            realtime.player_ended(reason="This account is deactivated."),
        )


@receiver(post_delete, sender=Player, dispatch_uid="players_player_sockets_deleted")
def close_sockets_of_deleted(sender, instance, **kwargs):
    realtime.emit(
        realtime.player_group(instance.pk),
        realtime.player_ended(reason="This account was deleted."),
    )


@receiver([post_save, post_delete], sender=Session, dispatch_uid="players_session_cache")
def invalidate_session(sender, instance, created=False, **kwargs):
    if created:
        return  # its id is new and random: nothing can have cached it yet
    cache.invalidate([SessionRepository.cache_key(instance.pk)])
