from rest_framework import serializers
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from flags.models import Flag
from mmo.api.serializers import FiniteFloatField, StrictInputSerializer


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
    isStartHub = serializers.BooleanField(source="is_start_hub")
    territory = GeometryField(
        allow_null=True,
        help_text="The land the flag holds (a GeoJSON MultiPolygon); null for system flags "
        "and abandoned flags.",
    )

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
            "isStartHub",
            "territory",
        ]


class LatLngInputSerializer(StrictInputSerializer):
    lat = FiniteFloatField(min_value=-90, max_value=90)
    lng = FiniteFloatField(min_value=-180, max_value=180)


class FlagPlaceInputSerializer(StrictInputSerializer):
    position = LatLngInputSerializer()
    name = serializers.CharField(max_length=100)
    isPublic = serializers.BooleanField(required=False, default=False)
    toll = serializers.IntegerField(required=False, default=0, min_value=0)


class SystemFlagInputSerializer(StrictInputSerializer):
    """Staff: a system flag (a portal), placed anywhere, at no cost."""

    position = LatLngInputSerializer()
    name = serializers.CharField(max_length=100)
    isPublic = serializers.BooleanField(required=False, default=True)
    isStartHub = serializers.BooleanField(required=False, default=False)
    type = serializers.ChoiceField(choices=["system"])


class FlagRemovedOutputSerializer(serializers.Serializer):
    flagId = serializers.UUIDField()
    resources = serializers.DictField(child=serializers.IntegerField())


class SpotOutputSerializer(serializers.Serializer):
    """A spot where the player may place a flag now, and the land it would hold there."""

    position = serializers.DictField(child=serializers.FloatField())
    distance = serializers.FloatField(help_text="Metres from the point asked about.")
    share = serializers.FloatField(help_text="Share of the full disc the flag would hold.")
    territory = serializers.DictField(help_text="The territory it would get (GeoJSON).")


class SpotsOutputSerializer(serializers.Serializer):
    near = serializers.DictField(child=serializers.FloatField())
    spots = SpotOutputSerializer(many=True)
