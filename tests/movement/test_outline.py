import math
import random
import sys
import threading
import time

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from movement.outline import Outline


def star(lng, lat, radius, corners, rng):
    """A concave polygon: corners at random distances around a centre."""
    return [
        (
            lng + radius * rng.uniform(0.3, 1.0) * math.cos(2 * math.pi * k / corners),
            lat + radius * rng.uniform(0.3, 1.0) * math.sin(2 * math.pi * k / corners),
        )
        for k in range(corners)
    ]


@pytest.mark.smoke
@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32), corners=st.integers(3, 400), parts=st.integers(1, 3))
def test_outline_agrees_with_geos(seed, corners, parts):
    rng = random.Random(seed)
    polygons = []
    for part in range(parts):
        # Parts side by side, so that they never overlap; the first has a hole.
        shell = star(part * 3.0, 0.0, 1.0, corners, rng)
        holes = [star(part * 3.0, 0.0, 0.2, 5, rng)] if part == 0 else []
        polygons.append(shapely.Polygon(shell, holes))
    geometry = polygons[0] if parts == 1 else shapely.MultiPolygon(polygons)
    outline = Outline(geometry)
    for _ in range(300):
        lng, lat = rng.uniform(-1.5, parts * 3.0), rng.uniform(-1.5, 1.5)
        assert outline.contains(lng, lat) == shapely.contains_xy(geometry, lng, lat), (lng, lat)


def test_outline_of_a_square_with_a_vertex_on_the_ray():
    # The ray east from (0.5, 0.5) passes through the corner (1, 0.5) of a diamond.
    diamond = Outline(shapely.Polygon([(0.5, 0), (1, 0.5), (0.5, 1), (0, 0.5)]))

    assert diamond.contains(0.5, 0.5)
    assert diamond.contains(0.2, 0.5)
    assert not diamond.contains(1.2, 0.5)
    assert not diamond.contains(0.1, 0.1)


def test_an_empty_outline_contains_nothing():
    assert not Outline(shapely.Polygon()).contains(0, 0)


def test_lookups_never_wait_for_other_threads():
    """
    A lookup holds the interpreter lock throughout: a call that let go of it
    would wait for a busy thread to give it back, a switch interval each time.
    """
    outline = Outline(shapely.Polygon(star(0, 0, 1, 64, random.Random(1))))
    stop = threading.Event()

    def busy():
        while not stop.is_set():
            sum(range(1000))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.005)  # Python's default
    thread = threading.Thread(target=busy)
    thread.start()
    try:
        time.sleep(0.2)  # the busy thread holds the lock whenever it can
        started = time.perf_counter()
        for n in range(1000):
            outline.contains(0.0002 * n, 0.0)
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
    # Letting go of the lock at each lookup took GEOS 3.7 s here (about 4 ms a
    # lookup); holding it, the lookups take a millisecond and a switch or two
    # to the busy thread.
    assert elapsed < 0.5
