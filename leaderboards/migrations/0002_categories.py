"""The original game's categories and the server's own, as boards of season 1."""

from django.db import migrations

from leaderboards.categories import CATEGORIES, create_missing


def create_boards(apps, schema_editor):
    create_missing(
        apps.get_model("leaderboards", "Leaderboard"),
        apps.get_model("leaderboards", "LeaderboardSeason"),
    )


def remove_boards(apps, schema_editor):
    Leaderboard = apps.get_model("leaderboards", "Leaderboard")
    Leaderboard.objects.filter(key__in=[key for key, *_ in CATEGORIES]).delete()


class Migration(migrations.Migration):
    dependencies = [("leaderboards", "0001_initial")]

    operations = [migrations.RunPython(create_boards, remove_boards)]
