"""Points at known distances, for tests at the boundary of a radius."""

from django.db import connection

from mmo.geo import point

# Metres per degree of latitude along the meridian at the equator (WGS84).
METRES_PER_DEGREE_LAT_AT_EQUATOR = 110_574.2727


def north_of_equator(metres: float, *, lng: float = 0.0):
    """The point `metres` north of (lng, 0) along the meridian."""
    return point(lng, metres / METRES_PER_DEGREE_LAT_AT_EQUATOR)


def spheroid_distance(a, b) -> float:
    """Distance in metres as PostGIS measures it (geography, spheroid)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_Distance(%s::geography, %s::geography)", [a.ewkt, b.ewkt])
        return cursor.fetchone()[0]
