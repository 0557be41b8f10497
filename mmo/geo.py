"""
Geometry rules shared by every app: what a valid position or area boundary is.

Coordinates are WGS84 (SRID 4326), x = longitude, y = latitude.
"""

import math

import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point, Polygon
from django.contrib.gis.measure import D
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import BooleanField, F, FloatField, Func, Q

WGS84 = 4326
WEB_MERCATOR = 3857
# Web Mercator covers x and y within this many metres of the origin; beyond
# it, transforming to WGS84 silently wraps or clamps instead of failing.
WEB_MERCATOR_LIMIT = 20037508.342789244


def validate_lng_lat(lng: float, lat: float) -> None:
    """Refuse non-finite or out-of-range coordinates, naming the bad one."""
    for name, value, limit in (("lng", lng, 180.0), ("lat", lat, 90.0)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(f"{name} must be a number.", code="invalid_coordinate")
        if not math.isfinite(value):
            raise ValidationError(f"{name} must be a finite number.", code="invalid_coordinate")
        if not -limit <= value <= limit:
            raise ValidationError(
                f"{name} must lie between -{limit:g} and {limit:g}, got {value:g}.",
                code="invalid_coordinate",
            )


def point(lng: float, lat: float) -> Point:
    validate_lng_lat(lng, lat)
    return Point(float(lng), float(lat), srid=WGS84)


def validated_point(geometry: GEOSGeometry) -> Point:
    """A 2D point in WGS84 within the coordinate ranges."""
    geometry = _in_wgs84(geometry)
    if geometry.geom_type != "Point":
        raise ValidationError(
            f"Expected a Point, got a {geometry.geom_type}.", code="invalid_geometry_type"
        )
    if geometry.empty:
        raise ValidationError("The point is empty.", code="empty_geometry")
    validate_lng_lat(geometry.x, geometry.y)
    return Point(geometry.x, geometry.y, srid=WGS84)


def validated_boundary(geometry: GEOSGeometry) -> MultiPolygon:
    """
    An area boundary as stored: a valid MultiPolygon in WGS84 within the
    coordinate ranges and the vertex limit. A Polygon is accepted and wrapped.
    """
    geometry = _in_wgs84(geometry)
    if isinstance(geometry, Polygon):
        geometry = MultiPolygon(geometry, srid=WGS84)
    if not isinstance(geometry, MultiPolygon):
        raise ValidationError(
            f"Expected a Polygon or MultiPolygon, got a {geometry.geom_type}.",
            code="invalid_geometry_type",
        )
    if geometry.empty:
        raise ValidationError("The boundary is empty.", code="empty_geometry")
    if geometry.num_coords > settings.AREA_MAX_VERTICES:
        raise ValidationError(
            f"The boundary has {geometry.num_coords} vertices; "
            f"the limit is {settings.AREA_MAX_VERTICES}.",
            code="too_many_vertices",
        )
    min_lng, min_lat, max_lng, max_lat = geometry.extent
    validate_lng_lat(min_lng, min_lat)
    validate_lng_lat(max_lng, max_lat)
    if not geometry.valid:
        raise ValidationError(
            f"The boundary is not a valid polygon: {geometry.valid_reason}.",
            code="invalid_geometry",
        )
    return geometry


def validate_web_mercator_extent(geometry: GEOSGeometry) -> None:
    """Refuse Web Mercator coordinates beyond the projection's square."""
    if geometry.srid != WEB_MERCATOR or geometry.empty:
        return
    if any(not math.isfinite(v) or abs(v) > WEB_MERCATOR_LIMIT for v in geometry.extent):
        raise ValidationError(
            f"Web Mercator coordinates must lie within ±{WEB_MERCATOR_LIMIT:.0f} m.",
            code="invalid_coordinate",
        )


def _in_wgs84(geometry: GEOSGeometry) -> GEOSGeometry:
    if geometry.hasz:
        raise ValidationError("Only 2D coordinates are accepted.", code="invalid_geometry")
    validate_web_mercator_extent(geometry)
    if geometry.srid in (None, WGS84):
        geometry = geometry.clone()
        geometry.srid = WGS84
        return geometry
    try:
        return geometry.transform(WGS84, clone=True)
    except Exception as error:  # GDAL raises several unrelated types here
        raise ValidationError(
            f"The geometry cannot be transformed to WGS84: {error}.", code="invalid_geometry"
        ) from error


# Queries -------------------------------------------------------------------


class _GeographyDWithin(Func):
    """
    `ST_DWithin(column::geography, point::geography, metres)`: exact metres on
    the spheroid, served by the GiST index on `(column::geography)` that the
    migrations create next to the geometry index.
    """

    output_field = BooleanField()

    def __init__(self, column: str, center: Point, metres: float):
        super().__init__(F(column))
        self.center, self.metres = center, float(metres)

    def as_sql(self, compiler, connection, **extra_context):
        column_sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"ST_DWithin(({column_sql})::geography, %s::geography, %s)",
            [*params, self.center.ewkt, self.metres],
        )


def within_metres(column: str, center: Point, metres: float) -> Q | _GeographyDWithin:
    """
    A filter for rows whose point `column` lies within `metres` of `center`:
    ST_DWithin on geography (indexed) on PostGIS, the portable distance lookup
    elsewhere.
    """
    if connection.vendor == "postgresql":
        return _GeographyDWithin(column, center, metres)
    return Q(**{f"{column}__distance_lte": (center, D(m=metres))})


class _SpheroidDistance(Func):
    """Metres from a point column to `center` on the WGS84 spheroid."""

    output_field = FloatField()

    def __init__(self, column: str, center: Point):
        super().__init__(F(column))
        self.center = center

    def as_sql(self, compiler, connection, **extra_context):
        column_sql, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            return (
                f"ST_Distance(({column_sql})::geography, %s::geography)",
                [*params, self.center.ewkt],
            )
        # SpatiaLite: the third argument asks for the ellipsoid, not the sphere.
        return f"Distance({column_sql}, GeomFromText(%s, 4326), 1)", [*params, self.center.wkt]


def distance_to(column: str, center: Point) -> _SpheroidDistance:
    """An expression: metres from `column` to `center`, as within_metres measures them."""
    return _SpheroidDistance(column, center)


def bounding_box(*, min_lng: float, min_lat: float, max_lng: float, max_lat: float) -> Polygon:
    """A validated lng/lat box as a polygon."""
    validate_lng_lat(min_lng, min_lat)
    validate_lng_lat(max_lng, max_lat)
    if min_lng > max_lng or min_lat > max_lat:
        raise ValidationError(
            "The box's minimum must not exceed its maximum.", code="invalid_bounding_box"
        )
    box = Polygon.from_bbox((min_lng, min_lat, max_lng, max_lat))
    box.srid = WGS84
    return box


# Distances in memory ----------------------------------------------------------

# WGS84 ellipsoid.
_A = 6_378_137.0
_F = 1 / 298.257223563
_E2 = _F * (2 - _F)
_MEAN_RADIUS = 6_371_008.8
# Below this separation the local ellipsoidal formula is exact to well under a
# centimetre; beyond it only rough magnitudes matter (a jump is a jump).
_LOCAL_LIMIT_M = 50_000.0


def distance_m(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    """
    Metres between two WGS84 points, agreeing with PostGIS's spheroid distance
    for the short hops of movement and flag ranges (sub-centimetre under
    50 km), so that rules checked in memory and in the database agree.
    """
    phi = math.radians((lat1 + lat2) / 2)
    d_phi = math.radians(lat2 - lat1)
    d_lambda = math.radians((lng2 - lng1 + 180.0) % 360.0 - 180.0)
    sin_phi = math.sin(phi)
    w = math.sqrt(1 - _E2 * sin_phi * sin_phi)
    meridian_radius = _A * (1 - _E2) / (w * w * w)
    normal_radius = _A / w
    north = meridian_radius * d_phi
    east = normal_radius * math.cos(phi) * d_lambda
    local = math.hypot(north, east)
    if local <= _LOCAL_LIMIT_M:
        return local
    # Far apart: the haversine great-circle distance on the mean sphere.
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin(d_phi / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(d_lambda / 2) ** 2
    return 2 * _MEAN_RADIUS * math.asin(min(1.0, math.sqrt(h)))


# Territories: land a disc keeps beside other claims ---------------------------------
# The portable form of what PostGIS computes with geography buffers and
# ST_Difference (flags/repositories.py chooses): discs drawn in lng/lat from
# the ellipsoid's local radii, differences taken by GEOS (shapely). Over a
# disc of a few hundred metres, lng/lat is a linear map of the ground, so a
# ratio of areas in degrees is the ratio in square metres.

# Points on a disc's outline: PostGIS's ST_Buffer default (8 per quarter circle).
DISC_SEGMENTS = 32


def metres_per_degree(lat: float) -> tuple[float, float]:
    """Metres per degree of longitude and of latitude at `lat` (the ellipsoid's local radii)."""
    phi = math.radians(lat)
    w = math.sqrt(1 - _E2 * math.sin(phi) ** 2)
    meridian_radius = _A * (1 - _E2) / (w * w * w)
    normal_radius = _A / w
    return (
        max(normal_radius * math.cos(phi), 1e-9) * math.pi / 180.0,
        meridian_radius * math.pi / 180.0,
    )


def claim_disc(lng: float, lat: float, metres: float):
    """A shapely polygon (lng/lat) of the points within `metres` of (lng, lat)."""
    per_lng, per_lat = metres_per_degree(lat)
    angles = [2 * math.pi * n / DISC_SEGMENTS for n in range(DISC_SEGMENTS)]
    ring = [
        (lng + metres * math.sin(a) / per_lng, lat + metres * math.cos(a) / per_lat) for a in angles
    ]
    return shapely.Polygon([*ring, ring[0]])


def land_left(disc, taken, *, smallest_part_m2: float = 1.0):
    """
    `disc` minus the union of `taken` (shapely geometries), valid, as a
    MultiPolygon (empty if nothing is left), without slivers smaller than
    `smallest_part_m2`.
    """
    per_lng, per_lat = metres_per_degree(disc.centroid.y)
    smallest = smallest_part_m2 / (per_lng * per_lat)
    taken = [geometry for geometry in taken if geometry is not None and not geometry.is_empty]
    land = shapely.difference(disc, shapely.union_all(taken)) if taken else disc
    land = shapely.make_valid(land)
    polygons = [
        part
        for part in shapely.get_parts(shapely.get_parts(land))
        if part.geom_type == "Polygon" and part.area >= smallest
    ]
    return shapely.MultiPolygon(polygons)


def share_of(land, disc) -> float:
    """How much of `disc` `land` holds, 0 to 1."""
    return land.area / disc.area if disc.area > 0 else 0.0


def to_geos(geometry) -> GEOSGeometry:
    """A shapely geometry as a GEOS one in WGS84 (MultiPolygons stay MultiPolygons)."""
    return GEOSGeometry(memoryview(shapely.to_wkb(geometry)), srid=WGS84)


def from_geos(geometry: GEOSGeometry):
    return shapely.from_wkb(bytes(geometry.wkb))
