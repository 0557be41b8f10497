"""Keep every process's in-memory view in step with the data it mirrors."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from areas.models import Area
from flags.models import Flag
from mmo import realtime


@receiver([post_save, post_delete], sender=Area, dispatch_uid="movement_area_index")
def rebuild_area_indexes(sender, instance, **kwargs):
    realtime.announce(realtime.WORLD_GROUP, {"type": "areas.changed"})


@receiver([post_save, post_delete], sender=Flag, dispatch_uid="movement_flag_anchors")
def refresh_owner_anchors(sender, instance, **kwargs):
    if instance.owner_id:
        realtime.announce(realtime.player_group(instance.owner_id), {"type": "flags.changed"})
