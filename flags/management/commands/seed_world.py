from django.core.management.base import BaseCommand
from django.db import transaction

from flags.sample_world import sample_world_load


class Command(BaseCommand):
    help = "Load the sample world (areas and system flags); safe to run again."

    def handle(self, *args, **options):
        with transaction.atomic():
            counts = sample_world_load()
        self.stdout.write(
            f"Sample world: {counts['areas_created']} of {counts['areas']} areas and "
            f"{counts['flags_created']} of {counts['flags']} system flags created; "
            "the rest already existed."
        )
