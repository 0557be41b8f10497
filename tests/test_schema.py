import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = pytest.mark.django_db

GEOMETRY_COLUMNS = [("areas", "boundary"), ("flags", "location"), ("player_positions", "location")]


@pytest.mark.smoke
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.parametrize("table, column", GEOMETRY_COLUMNS)
def test_every_geometry_column_has_a_gist_index(requires_postgis, table, column):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = %s",
            [table],
        )
        definitions = [row[0] for row in cursor.fetchall()]

    assert any(
        "USING gist" in definition and f"({column})" in definition for definition in definitions
    ), definitions


def test_spec_table_names_exist(requires_postgis):
    expected = {
        "players",
        "player_profiles",
        "player_positions",
        "player_inventories",
        "sessions",
        "areas",
        "flags",
    }

    assert expected <= set(connection.introspection.table_names())
