from django.db import migrations

from mmo.migration_operations import geography_index


class Migration(migrations.Migration):
    dependencies = [("movement", "0001_initial")]

    operations = [
        geography_index(
            table="player_positions",
            column="location",
            name="player_positions_location_geography_gist",
        ),
    ]
