"""
Leaderboards and their records. A board's records belong to a season; a new
season starts on the board's reset schedule (or when staff reset it), and the
records of past seasons stay as they were.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Leaderboard(models.Model):
    class SortOrder(models.TextChoices):
        DESCENDING = "desc", "highest first"
        ASCENDING = "asc", "lowest first"

    class Operator(models.TextChoices):
        BEST = "best", "best: keep the better of the old and the new score"
        SET = "set", "set: the new score replaces the old"
        INCREMENT = "increment", "increment: the new score is added to the old"

    class ResetSchedule(models.TextChoices):
        NEVER = "never", "never"
        DAILY = "daily", "daily (midnight UTC)"
        WEEKLY = "weekly", "weekly (Monday, midnight UTC)"
        MONTHLY = "monthly", "monthly (the first, midnight UTC)"

    key = models.CharField(
        primary_key=True,
        max_length=50,
        validators=[RegexValidator(r"^[A-Za-z0-9_-]+$", "Letters, digits, - and _ only.")],
        help_text="The category clients name, e.g. goldSpent.",
    )
    name = models.CharField(max_length=100)
    sort_order = models.CharField(
        max_length=4, choices=SortOrder.choices, default=SortOrder.DESCENDING
    )
    operator = models.CharField(max_length=10, choices=Operator.choices, default=Operator.BEST)
    reset_schedule = models.CharField(
        max_length=10, choices=ResetSchedule.choices, default=ResetSchedule.NEVER
    )
    authoritative = models.BooleanField(
        default=False,
        help_text="Only the server writes it: no client, staff or service account may post.",
    )
    season = models.PositiveIntegerField(default=1, editable=False)
    season_started_at = models.DateTimeField(default=timezone.now, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "leaderboards"
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(condition=Q(season__gte=1), name="leaderboards_season_positive")
        ]

    def __str__(self):
        return self.key

    @property
    def descending(self) -> bool:
        return self.sort_order == self.SortOrder.DESCENDING


class LeaderboardSeason(models.Model):
    """One season of a board: when it started and, once over, when it ended."""

    leaderboard = models.ForeignKey(Leaderboard, on_delete=models.CASCADE, related_name="seasons")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "leaderboard_seasons"
        ordering = ["leaderboard", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["leaderboard", "number"], name="leaderboard_seasons_unique"
            )
        ]

    def __str__(self):
        return f"{self.leaderboard_id} season {self.number}"


class LeaderboardRecord(models.Model):
    """A player's score on a board in one season."""

    leaderboard = models.ForeignKey(Leaderboard, on_delete=models.CASCADE, related_name="records")
    season = models.PositiveIntegerField()
    player = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="leaderboard_records"
    )
    score = models.BigIntegerField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "leaderboard_records"
        constraints = [
            models.UniqueConstraint(
                fields=["leaderboard", "season", "player"], name="leaderboard_records_unique"
            )
        ]
        indexes = [
            # Ranks computed by the database (embedded, or while Redis is away).
            models.Index(
                fields=["leaderboard", "season", "score", "player"],
                name="leaderboard_records_rank",
            )
        ]
        permissions = [
            ("submit_score", "Can submit scores of other players to non-authoritative boards"),
        ]

    def __str__(self):
        return f"{self.leaderboard_id}/{self.season}: {self.player_id} {self.score}"
