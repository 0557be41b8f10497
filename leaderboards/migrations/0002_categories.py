"""The original game's categories and the server's own, as boards of season 1."""

from django.db import migrations
from django.utils import timezone

# key, name, operator, authoritative. Scores posted by trusted callers keep the
# best: a game service reports totals, and a retried post changes nothing.
CATEGORIES = [
    ("monstersKilled", "Monsters killed", "best", False),
    ("damageDone", "Damage done", "best", False),
    ("healingDone", "Healing done", "best", False),
    ("experiencePoints", "Experience points", "best", False),
    ("dungeonsCompleted", "Dungeons completed", "best", False),
    ("buoysAttacked", "Buoys attacked", "best", False),
    ("flagsAttacked", "Flags attacked", "best", False),
    ("playersKilled", "Players killed", "best", False),
    # Written by the server in the transaction that earned them.
    ("goldCollected", "Gold collected in tolls", "increment", True),
    ("goldSpent", "Gold spent", "increment", True),
    ("mostGold", "Most gold held", "set", True),
    ("flagsPlaced", "Flags placed", "increment", True),
    ("distanceWalked", "Distance walked (m)", "increment", True),
]


def create_boards(apps, schema_editor):
    Leaderboard = apps.get_model("leaderboards", "Leaderboard")
    LeaderboardSeason = apps.get_model("leaderboards", "LeaderboardSeason")
    now = timezone.now()
    for key, name, operator, authoritative in CATEGORIES:
        board, created = Leaderboard.objects.get_or_create(
            key=key,
            defaults={
                "name": name,
                "operator": operator,
                "authoritative": authoritative,
                "sort_order": "desc",
                "reset_schedule": "never",
                "season": 1,
                "season_started_at": now,
            },
        )
        if created:
            LeaderboardSeason.objects.create(leaderboard=board, number=1, started_at=now)


def remove_boards(apps, schema_editor):
    Leaderboard = apps.get_model("leaderboards", "Leaderboard")
    Leaderboard.objects.filter(key__in=[key for key, *_ in CATEGORIES]).delete()


class Migration(migrations.Migration):
    dependencies = [("leaderboards", "0001_initial")]

    operations = [migrations.RunPython(create_boards, remove_boards)]
