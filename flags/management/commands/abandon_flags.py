from django.conf import settings
from django.core.management.base import BaseCommand

from flags.services import flags_abandon_stale


class Command(BaseCommand):
    help = (
        "Mark normal flags their owners have not visited for FLAG_ABANDON_AFTER_DAYS "
        "as abandoned. Run it daily (cron, a scheduled container)."
    )

    def handle(self, *args, **options):
        count = flags_abandon_stale()
        self.stdout.write(
            f"{count} flag(s) unvisited for {settings.FLAG_ABANDON_AFTER_DAYS} days abandoned."
        )
