from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils import timezone


class PlayerPosition(models.Model):
    """
    A player's last persisted position. The movement system holds the live one
    in memory and flushes it here; `version` only grows, so a replayed or late
    flush can never move a player backwards.
    """

    player = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="position",
    )
    location = models.PointField(srid=4326)
    direction = models.FloatField(default=0.0, help_text="Heading in degrees, [0, 360).")
    current_area = models.ForeignKey(
        "areas.Area",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.BigIntegerField(default=0)
    # The flag the player last teleported to: they may roam around it too.
    anchor_flag = models.ForeignKey(
        "flags.Flag", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "player_positions"
        constraints = [
            models.CheckConstraint(
                condition=Q(direction__gte=0) & Q(direction__lt=360),
                name="player_positions_direction_in_range",
            ),
            models.CheckConstraint(
                condition=Q(version__gte=0), name="player_positions_version_non_negative"
            ),
        ]

    def __str__(self):
        return f"position of {self.player_id}"
