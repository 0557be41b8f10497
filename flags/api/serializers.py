from rest_framework import serializers
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from flags.models import Flag


class FlagOutputSerializer(GeoFeatureModelSerializer):
    """A flag as a GeoJSON Feature; the properties use the original client's keys."""

    ownerId = serializers.UUIDField(source="owner_id", allow_null=True)
    visualBoundary = serializers.FloatField(source="visual_boundary")
    isPublic = serializers.BooleanField(source="is_public")
    isHardened = serializers.BooleanField(source="is_hardened")
    isAbandoned = serializers.BooleanField(source="is_abandoned")
    type = serializers.CharField(source="flag_type")
    lastVisitedAt = serializers.DateTimeField(source="last_visited_at")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Flag
        geo_field = "location"
        id_field = "id"
        fields = [
            "id",
            "ownerId",
            "name",
            "radius",
            "visualBoundary",
            "isPublic",
            "toll",
            "isHardened",
            "isAbandoned",
            "health",
            "type",
            "lastVisitedAt",
            "createdAt",
        ]
