"""
The area of a point: the in-memory STRtree index (what a move uses) against a
PostGIS query per point, with 1k and 10k polygon areas. PostGIS part only when
DATABASE_URL is PostGIS.
"""

import random
import time
import uuid

import _django  # noqa: F401
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import connection

from areas.models import Area, AreaType
from mmo.geo import point
from movement.area_index import AreaIndex

POINTS = 100_000
DB_POINTS = 2_000


def grid_areas(count: int, prefix: str) -> list[Area]:
    """`count` small squares on a grid, each a little irregular (8 vertices)."""
    side = int(count**0.5) + 1
    areas = []
    for n in range(count):
        x, y = (n % side) * 0.01, (n // side) * 0.01
        ring = [
            (x, y), (x + 0.004, y - 0.001), (x + 0.008, y), (x + 0.009, y + 0.004),
            (x + 0.008, y + 0.008), (x + 0.004, y + 0.009), (x, y + 0.008), (x - 0.001, y + 0.004),
            (x, y),
        ]  # fmt: skip
        areas.append(
            Area(
                id=f"{prefix}-{n}",
                name=f"Bench {n}",
                area_type=AreaType.WILDERNESS,
                boundary=MultiPolygon(Polygon(ring), srid=4326),
            )
        )
    return areas


def main():
    rng = random.Random(1)
    for count in (1_000, 10_000):
        prefix = f"bench-{uuid.uuid4().hex[:6]}"
        areas = grid_areas(count, prefix)
        extent = (int(count**0.5) + 1) * 0.01
        points = [(rng.uniform(0, extent), rng.uniform(0, extent)) for _ in range(POINTS)]

        index = AreaIndex(areas)
        started = time.perf_counter()
        hits = sum(index.area_at(lng, lat) is not None for lng, lat in points)
        memory_rate = POINTS / (time.perf_counter() - started)
        line = f"{count:>6,} areas: in-memory index {memory_rate:>10,.0f} lookups/s ({hits / POINTS:.0%} hit)"

        if connection.vendor == "postgresql":
            Area.objects.bulk_create(areas, batch_size=2000)
            try:
                started = time.perf_counter()
                for lng, lat in points[:DB_POINTS]:
                    Area.objects.filter(boundary__contains=point(lng, lat)).values_list(
                        "id", flat=True
                    ).first()
                db_rate = DB_POINTS / (time.perf_counter() - started)
                line += f" | PostGIS query per point {db_rate:>8,.0f} lookups/s | ratio {memory_rate / db_rate:6.1f}×"
            finally:
                # A raw delete: the ORM's would announce each area to every server.
                Area.objects.filter(id__startswith=prefix)._raw_delete(connection.alias)
        print(line + " (target ≥ 100,000/s)")


if __name__ == "__main__":
    main()
