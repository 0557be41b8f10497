"""
Which area a point lies in, answered in memory: a shapely STRtree over the
active areas, rebuilt when staff change an area. Where areas overlap, the
smallest one containing the point wins (the most specific place).
"""

import shapely
from shapely import STRtree


class AreaIndex:
    def __init__(self, areas=()):
        """`areas`: objects with `.pk` and a GEOS `.boundary` (Area models)."""
        entries = sorted(
            ((area.pk, shapely.from_wkb(bytes(area.boundary.wkb))) for area in areas),
            key=lambda entry: entry[1].area,
        )
        self._ids = [area_id for area_id, _ in entries]
        geometries = [geometry for _, geometry in entries]
        for geometry in geometries:
            shapely.prepare(geometry)
        self._tree = STRtree(geometries) if geometries else None

    def __len__(self) -> int:
        return len(self._ids)

    def area_at(self, lng: float, lat: float) -> str | None:
        if self._tree is None:
            return None
        hits = self._tree.query(shapely.Point(lng, lat), predicate="within")
        if len(hits) == 0:
            return None
        # Entries are sorted by size, so the lowest index is the smallest area.
        return self._ids[int(hits.min())]
