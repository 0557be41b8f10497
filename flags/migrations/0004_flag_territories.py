import django.contrib.gis.db.models.fields
import django.utils.timezone
from django.db import migrations, models
from django.db.models import Q

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
        migrations.AddIndex(
            model_name="flag",
            index=models.Index(
                condition=Q(is_start_hub=True),
                fields=["is_start_hub"],
                name="flags_start_hubs_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="flag",
            constraint=models.CheckConstraint(
                condition=Q(is_start_hub=False) | Q(flag_type="system"),
                name="flags_start_hubs_are_system_flags",
            ),
        ),
    ]
