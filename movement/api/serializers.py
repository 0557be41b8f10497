from rest_framework import serializers

from mmo.api.serializers import SharedFieldsOutputSerializer
from players.api.serializers import PlayerPublicOutputSerializer


class PositionOutputSerializer(SharedFieldsOutputSerializer):
    lat = serializers.FloatField(source="location.y")
    lng = serializers.FloatField(source="location.x")
    direction = serializers.FloatField()
    area = serializers.CharField(source="current_area_id", allow_null=True)
    updatedAt = serializers.DateTimeField(source="updated_at")


class PlayerOnMapOutputSerializer(PlayerPublicOutputSerializer):
    position = serializers.SerializerMethodField()
    area = serializers.CharField(source="position.current_area_id", allow_null=True)

    def get_position(self, player) -> dict:
        location = player.position.location
        return {"lat": location.y, "lng": location.x}


class TeleportOutputSerializer(serializers.Serializer):
    flagId = serializers.UUIDField()
    position = serializers.DictField(child=serializers.FloatField())
    cost = serializers.DictField(child=serializers.IntegerField())
    area = serializers.CharField(allow_null=True)
