"""The in-memory territory index: what a move asks it, and what that costs."""

import time

from mmo.geo import claim_disc, to_geos
from movement.territory_index import TerritoryIndex


def test_a_lookup_among_ten_thousand_territories_costs_microseconds():
    """The index answers from a grid of cells: its cost does not grow with the map."""
    rows = []
    for n in range(10_000):
        lng, lat = (n % 100) * 0.01, (n // 100) * 0.01
        rows.append((n, "other", False, 0, n, to_geos(claim_disc(lng, lat, 500))))
    index = TerritoryIndex(rows)
    points = [((n % 997) * 0.001, (n % 991) * 0.001) for n in range(20_000)]

    started = time.perf_counter()
    for lng, lat in points:
        index.holder_at(lng, lat, visitor_id="me")
    per_lookup = (time.perf_counter() - started) / len(points)

    assert per_lookup < 100e-6, f"{per_lookup * 1e6:.1f} µs per lookup"
    assert index.holder_at(0.0, 0.0, visitor_id="me").flag_id == "0"
    assert index.holder_at(0.0, 0.0, visitor_id="other") is None
    print(f"\nterritory lookup among 10,000: {per_lookup * 1e6:.1f} µs")


def test_the_polygon_is_tested_only_inside_its_box():
    index = TerritoryIndex([(1, "other", True, 2, 1, _disc(0, 0))])

    assert index.holder_at(0.5, 0.5, visitor_id="me") is None
    assert index.holder_at(0.004, 0, visitor_id="me").frame()["toll"] == 2


def _disc(lng, lat):
    return to_geos(claim_disc(lng, lat, 500))
