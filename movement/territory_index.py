"""
Whose land a point lies on, answered in memory beside the area index (no
query per move), updated flag by flag when territories change.

The same grid as movement/area_index.py: cells `CELL_DEGREES` square list the
territories whose bounding box touches them; a point is tested against a
polygon (movement/outline.py) only when it lies in the polygon's box. Territories are a flag's
disc at most (a kilometre across), so each touches a handful of cells.
"""

import math
from dataclasses import dataclass

import shapely

from movement.outline import Outline

CELL_DEGREES = 0.01  # about 1.1 km of latitude
MAX_CELLS_PER_TERRITORY = 256  # larger ones (a staff-made giant) are checked on every lookup


@dataclass(frozen=True)
class Territory:
    flag_id: str
    owner_id: str
    is_public: bool
    toll: int
    claimed_at: object
    outline: Outline  # lng/lat
    bounds: tuple[float, float, float, float]

    def frame(self) -> dict:
        return {
            "flagId": self.flag_id,
            "ownerId": self.owner_id,
            "isPublic": self.is_public,
            "toll": self.toll,
        }


class TerritoryIndex:
    def __init__(self, rows=()):
        """`rows`: (flag id, owner id, is_public, toll, claimed_at, GEOS territory)."""
        self._territories: dict[str, Territory] = {}
        self._cells: dict[tuple[int, int], set[str]] = {}
        self._large: set[str] = set()
        self.update(rows)

    def __len__(self) -> int:
        return len(self._territories)

    def update(self, rows, flag_ids=()) -> None:
        """Forget the territories of `flag_ids`, then add those of `rows`."""
        for flag_id in flag_ids:
            self._remove(str(flag_id))
        for flag_id, owner_id, is_public, toll, claimed_at, territory in rows:
            flag_id = str(flag_id)
            self._remove(flag_id)
            if territory is None or territory.empty:
                continue
            geometry = shapely.from_wkb(bytes(territory.wkb))
            entry = Territory(
                flag_id=flag_id,
                owner_id=str(owner_id),
                is_public=is_public,
                toll=toll,
                claimed_at=claimed_at,
                outline=Outline(geometry),
                bounds=geometry.bounds,
            )
            self._territories[flag_id] = entry
            cells = _cells(entry.bounds)
            if cells is None:
                self._large.add(flag_id)
                continue
            for cell in cells:
                self._cells.setdefault(cell, set()).add(flag_id)

    def _remove(self, flag_id: str) -> None:
        entry = self._territories.pop(flag_id, None)
        if entry is None:
            return
        self._large.discard(flag_id)
        for cell in _cells(entry.bounds) or ():
            members = self._cells.get(cell)
            if members is not None:
                members.discard(flag_id)
                if not members:
                    del self._cells[cell]

    def get(self, flag_id: str | None) -> Territory | None:
        return self._territories.get(flag_id) if flag_id is not None else None

    def holder_at(
        self, lng: float, lat: float, *, visitor_id: str, current: str | None = None
    ) -> Territory | None:
        """
        The territory of another player than `visitor_id` that (lng, lat) lies
        on, or None. Other players' lands never overlap, but one player's own
        flags may: the territory the visitor is on (`current`) wins while it
        holds the point, then the earliest claim.
        """
        held = self._territories.get(current) if current is not None else None
        if held is not None and _holds(held, lng, lat) and held.owner_id != visitor_id:
            return held
        candidates = self._cells.get((_cell(lng), _cell(lat)), ())
        if self._large:
            candidates = (*candidates, *self._large)
        found = None
        for flag_id in candidates:
            entry = self._territories[flag_id]
            if entry.owner_id == visitor_id or not _holds(entry, lng, lat):
                continue
            if found is None or (entry.claimed_at, entry.flag_id) < (
                found.claimed_at,
                found.flag_id,
            ):
                found = entry
        return found


def _holds(entry: Territory, lng: float, lat: float) -> bool:
    return entry.outline.contains(lng, lat)


def _cells(bounds) -> list[tuple[int, int]] | None:
    min_lng, min_lat, max_lng, max_lat = bounds
    columns = range(_cell(min_lng), _cell(max_lng) + 1)
    rows = range(_cell(min_lat), _cell(max_lat) + 1)
    if len(columns) * len(rows) > MAX_CELLS_PER_TERRITORY:
        return None
    return [(column, row) for column in columns for row in rows]


def _cell(degrees: float) -> int:
    return math.floor(degrees / CELL_DEGREES)
