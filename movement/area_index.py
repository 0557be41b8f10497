"""
Which area a point lies in, answered in memory, rebuilt when staff change an
area. Where areas overlap, the smallest one containing the point wins (the
most specific place).

Every move asks, and most moves are nowhere near an area's edge, so the
question is settled in plain Python: a grid of cells (`CELL_DEGREES` square)
lists the areas whose bounding box touches each cell, and a point is tested
against a polygon (movement/outline.py) only if it lies in the box. Areas too
large for the grid are checked by their box on every lookup.
"""

import math

import shapely

from movement.outline import Outline

CELL_DEGREES = 0.01  # about 1.1 km of latitude
MAX_CELLS_PER_AREA = 256  # larger areas skip the grid


class AreaIndex:
    def __init__(self, areas=()):
        """`areas`: objects with `.pk` and a GEOS `.boundary` (Area models)."""
        geometries = sorted(
            ((area.pk, shapely.from_wkb(bytes(area.boundary.wkb))) for area in areas),
            key=lambda entry: entry[1].area,
        )
        # Entries are sorted by size: the lowest index is the smallest area.
        self._entries = []
        self._cells: dict[tuple[int, int], list[int]] = {}
        self._large: list[int] = []
        for index, (area_id, geometry) in enumerate(geometries):
            min_lng, min_lat, max_lng, max_lat = geometry.bounds
            self._entries.append((area_id, Outline(geometry)))
            columns = range(_cell(min_lng), _cell(max_lng) + 1)
            rows = range(_cell(min_lat), _cell(max_lat) + 1)
            if len(columns) * len(rows) > MAX_CELLS_PER_AREA:
                self._large.append(index)
                continue
            for column in columns:
                for row in rows:
                    self._cells.setdefault((column, row), []).append(index)

    def __len__(self) -> int:
        return len(self._entries)

    def area_at(self, lng: float, lat: float) -> str | None:
        candidates = self._cells.get((_cell(lng), _cell(lat)), ())
        if self._large:
            candidates = sorted((*candidates, *self._large))
        for index in candidates:
            area_id, outline = self._entries[index]
            if outline.contains(lng, lat):
                return area_id
        return None


def _cell(degrees: float) -> int:
    return math.floor(degrees / CELL_DEGREES)
