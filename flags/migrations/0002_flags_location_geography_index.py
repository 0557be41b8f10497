from django.db import migrations

from mmo.migration_operations import geography_index


class Migration(migrations.Migration):
    dependencies = [("flags", "0001_initial")]

    operations = [
        geography_index(table="flags", column="location", name="flags_location_geography_gist"),
    ]
