from django.core.management.base import BaseCommand, CommandError

from leaderboards import services


class Command(BaseCommand):
    help = (
        "Rebuild the ranks in Redis of every board's current season (or one board's) from "
        "the records in the database. Reads rebuild a lost set by themselves; this does it "
        "ahead of them, after a Redis restart without persistence, say."
    )

    def add_arguments(self, parser):
        parser.add_argument("key", nargs="?", help="one board's key; all boards without it")

    def handle(self, *args, key=None, **options):
        try:
            loaded = services.leaderboards_rebuild(key=key)
        except services.LeaderboardError as error:
            raise CommandError(error.message) from error
        if not loaded:
            self.stdout.write("No Redis configured: ranks are computed in the database.")
        for board_key, count in loaded.items():
            self.stdout.write(f"{board_key}: {count} records ranked")
