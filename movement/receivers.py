"""
A new player's place in the world, added in the transaction that provisions
them (players/signals.py says why this is a signal: players sits below
movement and does not import it).
"""

from django.dispatch import receiver

from movement import services
from players.signals import player_provisioned


@receiver(player_provisioned, dispatch_uid="movement_position_at_start")
def place_new_player_at_start(sender, player, **kwargs):
    services.position_create(player=player)
