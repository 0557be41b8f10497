"""
Fill the new columns of flags/0004 (a migration of its own: the rows it
updates must be committed before other migrations change the table again).
"""

from django.db import migrations, models

# The sample world's start hubs (flags/sample_world.py: the start flag and the portals).
SAMPLE_HUB_KEYS = [
    "start",
    "portal-north-america",
    "portal-south-america",
    "portal-europe",
    "portal-africa",
    "portal-asia",
    "portal-australia",
]


def fill_territories(apps, schema_editor):
    """
    Standing players' flags claim their land in the order they were placed;
    the sample world's system flags become start hubs.
    """
    from flags.repositories import FlagRepository
    from flags.sample_world import system_flag_id

    Flag = apps.get_model("flags", "Flag")
    Flag.objects.filter(pk__in=[system_flag_id(key) for key in SAMPLE_HUB_KEYS]).update(
        is_start_hub=True
    )
    Flag.objects.update(claimed_at=models.F("created_at"))
    standing = Flag.objects.filter(owner__isnull=False, is_abandoned=False).order_by(
        "created_at", "id"
    )
    for flag in standing.iterator():
        land = FlagRepository.land_for(
            flag.location, flag.radius, owner_id=flag.owner_id, before=flag
        )
        Flag.objects.filter(pk=flag.pk).update(territory=land.territory)


class Migration(migrations.Migration):
    dependencies = [("flags", "0004_flag_territories")]

    operations = [
        # Backwards there is nothing to undo: 0004, reversed, drops the columns.
        migrations.RunPython(fill_territories, migrations.RunPython.noop, elidable=False),
    ]
