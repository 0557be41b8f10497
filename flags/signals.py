"""Cache invalidation for writes that bypass the repositories (the admin, the shell)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from flags.models import Flag
from flags.repositories import FlagRepository


@receiver([post_save, post_delete], sender=Flag, dispatch_uid="flags_flag_cache")
def invalidate_flags(sender, instance, **kwargs):
    FlagRepository.invalidate()
