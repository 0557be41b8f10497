"""Migrations flags/0004 and 0005 (territories): it fills existing flags' land, and it goes back."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from flags.models import Flag
from flags.sample_world import START_FLAG_ID
from tests.factories import FlagFactory, PlayerFactory
from tests.geodesy import north_of_equator

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("flags", "0003_flags_radius_index")]
AFTER = [("flags", "0005_fill_territories")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def columns() -> set[str]:
    with connection.cursor() as cursor:
        return {c.name for c in connection.introspection.get_table_description(cursor, "flags")}


def test_the_migration_goes_back_and_fills_the_land_of_existing_flags():
    call_command("seed_world")
    first = FlagFactory(owner=PlayerFactory(), location=north_of_equator(-300))
    second = FlagFactory(owner=PlayerFactory(), location=north_of_equator(300))
    abandoned = FlagFactory(location=north_of_equator(2000), is_abandoned=True)

    try:
        migrate(BEFORE)
        assert not {"territory", "claimed_at", "is_start_hub"} & columns()
    finally:
        migrate(AFTER)

    assert {"territory", "claimed_at", "is_start_hub"} <= columns()
    first, second, abandoned = (Flag.objects.get(pk=f.pk) for f in (first, second, abandoned))
    assert abandoned.territory is None
    # Placed first, the first holds its whole disc; the second what it left.
    assert first.territory.area > second.territory.area > 0.6 * first.territory.area
    assert first.territory.intersection(second.territory).area < 1e-10  # degrees²: < 1 m²
    assert Flag.objects.get(pk=START_FLAG_ID).is_start_hub
