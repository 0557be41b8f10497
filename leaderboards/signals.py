"""
Every write to a board, the admin's and the shell's included, invalidates its
cached copy; a board deleted takes its ranks out of Redis.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from redis.exceptions import RedisError

from leaderboards.models import Leaderboard
from leaderboards.repositories import LeaderboardRepository, rank_index


@receiver([post_save, post_delete], sender=Leaderboard, dispatch_uid="leaderboards_board_cache")
def invalidate_board(sender, instance, **kwargs):
    LeaderboardRepository.invalidate(instance.pk)


@receiver(post_delete, sender=Leaderboard, dispatch_uid="leaderboards_board_ranks")
def drop_ranks(sender, instance, **kwargs):
    index = rank_index()
    if index is None:
        return

    def drop():
        try:
            for season in range(1, instance.season + 1):
                index.drop(instance.pk, season)
        except RedisError:
            pass  # a board of that key made again starts from its (empty) records anyway

    transaction.on_commit(drop)
