"""Cache invalidation for writes that bypass the repositories (the admin, the shell)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from areas.models import Area
from areas.repositories import AreaRepository


@receiver([post_save, post_delete], sender=Area, dispatch_uid="areas_area_cache")
def invalidate_areas(sender, instance, **kwargs):
    AreaRepository.invalidate()
