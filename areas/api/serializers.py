from django.core.exceptions import SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from areas.models import Area, AreaType, validate_area_properties
from mmo.api.serializers import StrictInputSerializer
from mmo.geo import validated_boundary


class AreaOutputSerializer(GeoFeatureModelSerializer):
    areaType = serializers.CharField(source="area_type")
    isActive = serializers.BooleanField(source="is_active")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Area
        geo_field = "boundary"
        id_field = "id"
        fields = ["id", "name", "areaType", "properties", "isActive", "createdAt", "updatedAt"]


POLYGONAL_GEOJSON_SCHEMA = {
    "type": "object",
    "description": "A GeoJSON Polygon or MultiPolygon in WGS84 (lng, lat).",
    "properties": {
        "type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]},
        "coordinates": {"type": "array", "items": {}},
    },
    "required": ["type", "coordinates"],
}


@extend_schema_field(POLYGONAL_GEOJSON_SCHEMA)
class GeoJSONGeometryField(GeometryField):
    """drf-gis's geometry input, answering 400 to GeoJSON that names an external CRS."""

    def to_internal_value(self, value):
        if value in ("", None) or not isinstance(value, (dict, str)):
            raise serializers.ValidationError("Give a GeoJSON geometry object.")
        try:
            return super().to_internal_value(value)
        except SuspiciousOperation as error:
            raise serializers.ValidationError(str(error)) from error


class AreaInputSerializer(StrictInputSerializer):
    """Staff input; `boundary` is a GeoJSON Polygon or MultiPolygon in lng/lat."""

    id = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=100)
    areaType = serializers.ChoiceField(choices=AreaType.choices, source="area_type")
    boundary = GeoJSONGeometryField()
    properties = serializers.JSONField(required=False)
    isActive = serializers.BooleanField(required=False, source="is_active")

    def validate_boundary(self, boundary):
        try:
            return validated_boundary(boundary)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from error

    def validate_properties(self, properties):
        try:
            validate_area_properties(properties)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from error
        return properties
