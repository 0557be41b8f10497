"""
The boards every deployment has: the original game's categories and the
server's own. Created by a data migration; `leaderboards_seed` makes any
missing one again (a test database emptied between tests, a board deleted by
mistake).
"""

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


def create_missing(leaderboard_model, season_model) -> list[str]:
    """Create the boards of CATEGORIES that do not exist (models passed: migrations use theirs)."""
    now = timezone.now()
    created = []
    for key, name, operator, authoritative in CATEGORIES:
        board, new = leaderboard_model.objects.get_or_create(
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
        if new:
            season_model.objects.create(leaderboard=board, number=1, started_at=now)
            created.append(key)
    return created
