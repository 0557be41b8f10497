"""
The sample world every installation starts with: three areas around the start
point and the system flags (the start flag and one portal per continent), each
of them a start hub where new players begin.
"""

import uuid

from django.conf import settings
from django.contrib.gis.geos import MultiPolygon, Polygon

from areas.models import Area, AreaType, default_area_properties
from flags.models import Flag, FlagType
from mmo.geo import point

# Ids derived from names, so that every installation names the same flag alike
# and loading the world twice finds the rows of the first load.
SYSTEM_FLAG_NAMESPACE = uuid.UUID("6f1c2a52-4f0e-4b8e-9a55-0d1f3c7be001")


def _box(min_lng, min_lat, max_lng, max_lat):
    return (
        (min_lng, min_lat),
        (max_lng, min_lat),
        (max_lng, max_lat),
        (min_lng, max_lat),
        (min_lng, min_lat),
    )


SAMPLE_AREAS = [
    {
        "id": "starting-area",
        "name": "Starting Area",
        "area_type": AreaType.SAFE,
        "boundary": MultiPolygon(Polygon(_box(-0.01, -0.01, 0.01, 0.01)), srid=4326),
        "properties": {
            **default_area_properties(),
            "description": "Where every player begins; no fighting here.",
            "resources": ["wood", "leather"],
        },
    },
    {
        "id": "city-area",
        "name": "City",
        "area_type": AreaType.CITY,
        "boundary": MultiPolygon(Polygon(_box(0.01, -0.01, 0.03, 0.01)), srid=4326),
        "properties": {
            **default_area_properties(),
            "description": "The market town east of the start.",
            "allow_building": False,
            "resources": ["gold"],
        },
    },
    {
        "id": "wilderness",
        "name": "Wilderness",
        "area_type": AreaType.WILDERNESS,
        # The wild surrounds the starting area and the city: a hole where they lie.
        "boundary": MultiPolygon(
            Polygon(_box(-0.1, -0.1, 0.1, 0.1), _box(-0.01, -0.01, 0.03, 0.01)), srid=4326
        ),
        "properties": {
            **default_area_properties(),
            "description": "Open land around the start; beware.",
            "allow_pvp": True,
            "resources": ["wood", "leather", "stone", "roc_feathers"],
            "hazards": ["wolves"],
        },
    },
]

# (key, name, latitude, longitude); the start flag stands at GAME_START_POINT.
SYSTEM_FLAGS = [
    ("start", "Start", None, None),
    ("portal-north-america", "North America Portal", 39.8283, -98.5795),
    ("portal-south-america", "South America Portal", -8.7832, -55.4915),
    ("portal-europe", "Europe Portal", 54.5260, 15.2551),
    ("portal-africa", "Africa Portal", 8.7832, 34.5085),
    ("portal-asia", "Asia Portal", 34.0479, 100.6197),
    ("portal-australia", "Australia Portal", -25.2744, 133.7751),
]


def system_flag_id(key: str) -> uuid.UUID:
    return uuid.uuid5(SYSTEM_FLAG_NAMESPACE, key)


START_FLAG_ID = system_flag_id("start")


def sample_world_load() -> dict[str, int]:
    """
    Create what is missing of the sample world. Rows that exist are left as
    they are, so staff edits survive a reload. Returns counts for a report.
    """
    counts = {"areas_created": 0, "flags_created": 0}
    for definition in SAMPLE_AREAS:
        fields = dict(definition)
        area_id = fields.pop("id")
        _, created = Area.objects.get_or_create(id=area_id, defaults=fields)
        counts["areas_created"] += created
    for key, name, lat, lng in SYSTEM_FLAGS:
        if key == "start":
            lng, lat = settings.GAME_START_POINT
        _, created = Flag.objects.get_or_create(
            id=system_flag_id(key),
            defaults={
                "name": name,
                "location": point(lng, lat),
                "flag_type": FlagType.SYSTEM,
                "is_public": True,
                "is_hardened": True,
                "is_start_hub": True,
            },
        )
        counts["flags_created"] += created
    counts["areas"] = len(SAMPLE_AREAS)
    counts["flags"] = len(SYSTEM_FLAGS)
    return counts
