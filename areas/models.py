from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.db.models import Q


def default_area_properties():
    return {
        "description": "",
        "allow_pvp": False,
        "allow_building": True,
        "resources": [],
        "hazards": [],
    }


# The keys of `properties` that mean something to the game, and their JSON types.
AREA_PROPERTY_TYPES = {
    "description": str,
    "allow_pvp": bool,
    "allow_building": bool,
    "resources": list,
    "hazards": list,
}


def validate_area_properties(properties) -> None:
    """`properties` is an object whose known keys have their documented types."""
    if not isinstance(properties, dict):
        raise ValidationError("Properties must be a JSON object.")
    for key, expected in AREA_PROPERTY_TYPES.items():
        if key in properties and not isinstance(properties[key], expected):
            raise ValidationError(f"Property {key!r} must be a {expected.__name__}.")


class AreaType(models.TextChoices):
    SAFE = "safe"
    CITY = "city"
    WILDERNESS = "wilderness"
    DUNGEON = "dungeon"
    EVENT = "event"


class Area(models.Model):
    """A named region of the map; a point's area decides what players may do there."""

    AreaType = AreaType

    id = models.SlugField(primary_key=True, max_length=64)
    name = models.CharField(max_length=100)
    area_type = models.CharField(max_length=20, choices=AreaType.choices)
    boundary = models.MultiPolygonField(srid=4326)
    properties = models.JSONField(default=default_area_properties, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "areas"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(area_type__in=AreaType.values),
                name="areas_area_type_known",
            ),
            models.CheckConstraint(
                condition=Q(boundary__isvalid=True), name="areas_boundary_valid"
            ),
        ]

    def __str__(self):
        return self.name
