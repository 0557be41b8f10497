from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("flags", "0002_flags_location_geography_index")]

    operations = [
        # A placement asks for MAX(radius) twice (the lock region, the conflict
        # search): with this index that reads one index entry instead of every flag.
        migrations.AddIndex(
            model_name="flag",
            index=models.Index(fields=["radius"], name="flags_radius_idx"),
        ),
    ]
