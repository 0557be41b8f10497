"""
Every write to an area, the admin's and the shell's included, invalidates the
copies of area data: the cache, and the area index each server process keeps
in memory.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from areas.models import Area
from areas.repositories import AreaRepository
from mmo import realtime


@receiver([post_save, post_delete], sender=Area, dispatch_uid="areas_area_cache")
def invalidate_areas(sender, instance, **kwargs):
    AreaRepository.invalidate()


@receiver([post_save, post_delete], sender=Area, dispatch_uid="areas_area_indexes")
def rebuild_area_indexes(sender, instance, **kwargs):
    realtime.emit(realtime.WORLD_GROUP, realtime.areas_changed())
