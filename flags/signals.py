"""
Every write to a flag, the admin's and the shell's included, invalidates the
copies of flag data: the cache, and the anchors (where a player may roam) that
the owner's live connection keeps in memory.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from flags.models import Flag
from flags.repositories import FlagRepository
from mmo import realtime


@receiver([post_save, post_delete], sender=Flag, dispatch_uid="flags_flag_cache")
def invalidate_flags(sender, instance, **kwargs):
    FlagRepository.invalidate()


@receiver([post_save, post_delete], sender=Flag, dispatch_uid="flags_owner_anchors")
def tell_owner_flags_changed(sender, instance, **kwargs):
    if instance.owner_id:
        realtime.emit(realtime.player_group(instance.owner_id), realtime.flags_changed())
