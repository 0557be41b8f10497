from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from chat.services import messages_purge


class Command(BaseCommand):
    help = (
        "Delete chat messages older than CHAT_RETENTION_DAYS (or --days), in batches of "
        "--batch-size, each its own transaction; meant to run from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=float, default=None)
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, days=None, batch_size=5000, **options):
        days = settings.CHAT_RETENTION_DAYS if days is None else days
        if days < 0 or batch_size < 1:
            raise CommandError("--days must be ≥ 0 and --batch-size ≥ 1.")
        horizon = timezone.now() - timedelta(days=days)
        deleted = messages_purge(older_than=horizon, batch_size=batch_size)
        self.stdout.write(f"Deleted {deleted} chat messages older than {days:g} days.")
