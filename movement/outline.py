"""
Whether a point lies inside a polygon, in plain Python.

Every move asks which area and whose land it stands on. GEOS answers in a few
microseconds, but it lets go of the interpreter lock for the call, and taking
the lock back waits for whichever thread holds it meanwhile (a login's query,
a REST request) to give it up: up to `sys.getswitchinterval()`, 5 ms. Under a
storm of logins every move on the event loop paid that, once per lookup. An
`Outline` answers the same question without leaving Python: the polygon's
edges are sorted into horizontal bands once, and a point is tested with the
even-odd rule (a ray to the east crosses the boundary an odd number of times
from inside) against the few edges of its band.

A point exactly on the boundary may count as either side, where GEOS's
`contains` says outside; a player cannot tell a difference of that size.
"""

import itertools
import math

import shapely

# Edges per band on average: few enough that a lookup tests a handful.
EDGES_PER_BAND = 2
MAX_BANDS = 4096


class Outline:
    """The rings of a shapely Polygon or MultiPolygon, for `contains` tests."""

    __slots__ = ("min_x", "min_y", "max_x", "max_y", "_band_height", "_bands")

    def __init__(self, geometry):
        self.min_x, self.min_y, self.max_x, self.max_y = geometry.bounds
        edges = []  # (lower y, upper y, x at lower y, dx/dy)
        for part in shapely.get_parts(geometry):
            for ring in shapely.get_rings(part):
                points = shapely.get_coordinates(ring).tolist()
                for (x1, y1), (x2, y2) in itertools.pairwise(points):
                    if y1 == y2:
                        continue  # a level edge is never crossed by a level ray
                    if y1 > y2:
                        x1, y1, x2, y2 = x2, y2, x1, y1
                    edges.append((y1, y2, x1, (x2 - x1) / (y2 - y1)))
        band_count = min(max(len(edges) // EDGES_PER_BAND, 1), MAX_BANDS)
        height = (self.max_y - self.min_y) / band_count
        self._band_height = height if height > 0 else 1.0
        bands: list[list] = [[] for _ in range(band_count)]
        self._bands = bands
        for edge in edges:
            for band in range(self._band(edge[0]), self._band(edge[1]) + 1):
                bands[band].append(edge)
        self._bands = [tuple(band) for band in bands]

    def _band(self, y: float) -> int:
        # Monotonic in y (IEEE rounding is), so an edge's bands cover every y it spans.
        band = math.floor((y - self.min_y) / self._band_height)
        return min(max(band, 0), len(self._bands) - 1)

    def contains(self, x: float, y: float) -> bool:
        if not (self.min_x <= x <= self.max_x and self.min_y <= y <= self.max_y):
            return False
        inside = False
        for low, high, x_low, slope in self._bands[self._band(y)]:
            # Half-open in y, so a ray through a vertex counts its two edges once.
            if low <= y < high and x < x_low + (y - low) * slope:
                inside = not inside
        return inside
