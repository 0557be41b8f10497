import django.contrib.gis.db.models.fields
import django.utils.timezone
from django.db import migrations, models
from django.db.models import Q

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
    dependencies = [("flags", "0003_flags_radius_index")]

    operations = [
        migrations.AddField(
            model_name="flag",
            name="territory",
            field=django.contrib.gis.db.models.fields.MultiPolygonField(
                blank=True, null=True, srid=4326
            ),
        ),
        migrations.AddField(
            model_name="flag",
            name="claimed_at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name="flag",
            name="is_start_hub",
            field=models.BooleanField(
                default=False,
                help_text="System flags only: new players start here and may place a first "
                "flag within FLAG_HUB_RANGE_M of it.",
            ),
        ),
        migrations.AddConstraint(
            model_name="flag",
            constraint=models.CheckConstraint(
                condition=Q(is_start_hub=False) | Q(flag_type="system"),
                name="flags_start_hubs_are_system_flags",
            ),
        ),
        # Backwards the columns go, and with them what this filled in.
        migrations.RunPython(fill_territories, migrations.RunPython.noop, elidable=False),
    ]
