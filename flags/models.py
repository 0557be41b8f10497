import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import F, Q
from django.utils import timezone


class FlagType(models.TextChoices):
    NORMAL = "normal"
    SYSTEM = "system"
    ROC_SHRINE = "roc-shrine"
    GUARD_TOWER = "guard-tower"


class Flag(models.Model):
    """A flag on the map: a player's claim, or a system flag (the start, portals)."""

    FlagType = FlagType

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="flags",
    )
    name = models.CharField(max_length=100)
    location = models.PointField(srid=4326)
    radius = models.FloatField(default=500.0, help_text="Claimed radius in metres.")
    visual_boundary = models.FloatField(default=600.0, help_text="Drawn radius in metres.")
    is_public = models.BooleanField(default=False)
    toll = models.IntegerField(default=0, help_text="Gold paid to the owner per teleport.")
    is_hardened = models.BooleanField(default=False)
    is_abandoned = models.BooleanField(default=False)
    health = models.IntegerField(default=200)
    flag_type = models.CharField(max_length=20, choices=FlagType.choices, default=FlagType.NORMAL)
    last_visited_at = models.DateTimeField(default=timezone.now)
    # The land the flag holds: its claim disc minus the territories of other
    # players' flags that claimed before it (docs/game-rules.md). Empty for
    # system flags and abandoned flags, which hold none.
    territory = models.MultiPolygonField(srid=4326, null=True, blank=True)
    # When the current claim began (placing, taking over, reclaiming): who
    # came first where discs overlap. Read from the database's clock once the
    # placement holds its locks, so claims that conflict are strictly ordered.
    claimed_at = models.DateTimeField(default=timezone.now, db_index=True)
    is_start_hub = models.BooleanField(
        default=False,
        help_text="System flags only: new players start here and may place a first flag "
        "within FLAG_HUB_RANGE_M of it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "flags"
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["flag_type", "is_abandoned"], name="flags_type_abandoned_idx"),
            # Every placement asks for the largest radius (how far to look for
            # conflicts); without this index that is a scan of every flag.
            models.Index(fields=["radius"], name="flags_radius_idx"),
            # New players and first flags look for the start hubs: a handful of rows.
            models.Index(
                fields=["is_start_hub"],
                condition=Q(is_start_hub=True),
                name="flags_start_hubs_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(flag_type__in=FlagType.values),
                name="flags_flag_type_known",
            ),
            models.CheckConstraint(condition=Q(radius__gt=0), name="flags_radius_positive"),
            models.CheckConstraint(
                condition=Q(visual_boundary__gte=F("radius")),
                name="flags_visual_boundary_covers_radius",
            ),
            models.CheckConstraint(condition=Q(toll__gte=0), name="flags_toll_non_negative"),
            models.CheckConstraint(condition=Q(health__gte=0), name="flags_health_non_negative"),
            models.CheckConstraint(
                condition=~Q(flag_type="system") | Q(owner__isnull=True),
                name="flags_system_flags_unowned",
            ),
            models.CheckConstraint(
                condition=~Q(flag_type="normal") | Q(owner__isnull=False),
                name="flags_normal_flags_owned",
            ),
            models.CheckConstraint(
                condition=Q(is_start_hub=False) | Q(flag_type="system"),
                name="flags_start_hubs_are_system_flags",
            ),
        ]

    def __str__(self):
        return self.name
