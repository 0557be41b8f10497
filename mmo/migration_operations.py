"""Migration operations that Django's model state cannot express."""

from django.db import migrations


def geography_index(*, table: str, column: str, name: str) -> migrations.RunPython:
    """
    A GiST index on `column::geography` (PostGIS only), so that distance
    queries in metres (ST_DWithin on geography) use an index. SpatiaLite uses
    the geometry's own spatial index instead.
    """

    def create(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
                f'USING gist (("{column}"::geography))'
            )

    def drop(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')

    return migrations.RunPython(create, drop, elidable=False)
