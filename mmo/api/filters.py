"""
Query-string parameters of the list endpoints: `bbox`, `near` + `radius`,
`contains`. Each is validated and a bad one answers 400 naming it.
Coordinates are longitude first, as in GeoJSON.
"""

import math

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError

from mmo.geo import bounding_box, point

# A UUID in a URL; also matched without the trailing slash.
UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def _floats(request, name: str, count: int, example: str) -> list[float] | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    parts = raw.split(",")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        values = []
    if len(values) != count or not all(math.isfinite(value) for value in values):
        raise ValidationError(
            {name: [f"Expected {count} comma-separated numbers, like {example}."]}
        )
    return values


def _domain_error(name: str, error: DjangoValidationError) -> ValidationError:
    return ValidationError({name: error.messages})


def parse_bbox(request):
    """The `bbox=minLng,minLat,maxLng,maxLat` parameter as a polygon, or None."""
    values = _floats(request, "bbox", 4, "bbox=-0.1,-0.1,0.1,0.1")
    if values is None:
        return None
    min_lng, min_lat, max_lng, max_lat = values
    try:
        return bounding_box(min_lng=min_lng, min_lat=min_lat, max_lng=max_lng, max_lat=max_lat)
    except DjangoValidationError as error:
        raise _domain_error("bbox", error) from error


def parse_point(request, name: str):
    values = _floats(request, name, 2, f"{name}=2.3522,48.8566 (lng,lat)")
    if values is None:
        return None
    try:
        return point(values[0], values[1])
    except DjangoValidationError as error:
        raise _domain_error(name, error) from error


def parse_near(request):
    """`near=lng,lat&radius=metres` as (point, metres), or None."""
    center = parse_point(request, "near")
    radius = _floats(request, "radius", 1, "radius=500")
    if center is None:
        if radius is not None:
            raise ValidationError({"near": ["radius needs near=lng,lat."]})
        return None
    if radius is None:
        raise ValidationError({"radius": ["near needs radius=metres."]})
    metres = radius[0]
    if not 0 < metres <= settings.API_MAX_NEAR_RADIUS:
        raise ValidationError(
            {"radius": [f"Must be above 0 and at most {settings.API_MAX_NEAR_RADIUS:g} metres."]}
        )
    return center, metres


BBOX_PARAMETER = OpenApiParameter(
    "bbox",
    OpenApiTypes.STR,
    description="minLng,minLat,maxLng,maxLat: only items in this box.",
)
NEAR_PARAMETERS = [
    OpenApiParameter("near", OpenApiTypes.STR, description="lng,lat: only items near this point."),
    OpenApiParameter(
        "radius", OpenApiTypes.NUMBER, description="Metres around `near` (required with it)."
    ),
]
CONTAINS_PARAMETER = OpenApiParameter(
    "contains", OpenApiTypes.STR, description="lng,lat: only areas containing this point."
)
