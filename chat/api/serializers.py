from rest_framework import serializers

from mmo.api.serializers import SharedFieldsOutputSerializer, StrictInputSerializer


class RoomOutputSerializer(SharedFieldsOutputSerializer):
    """A room; a private room's password never leaves the server."""

    id = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField(source="kind")
    isPrivate = serializers.BooleanField(source="is_private")
    areaId = serializers.CharField(source="area_id", allow_null=True)
    createdBy = serializers.UUIDField(source="created_by_id", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")


class RoomListOutputSerializer(RoomOutputSerializer):
    memberCount = serializers.IntegerField(source="member_count")


class RoomCreateInputSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=100)
    id = serializers.CharField(max_length=80, required=False)
    password = serializers.CharField(max_length=200, required=False, allow_blank=False)


class RoomJoinInputSerializer(StrictInputSerializer):
    password = serializers.CharField(max_length=200, required=False)


class MemberOutputSerializer(SharedFieldsOutputSerializer):
    playerId = serializers.UUIDField(source="player_id")
    username = serializers.CharField(source="player.username")
    joinedAt = serializers.DateTimeField(source="joined_at")


class MessageOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    senderId = serializers.CharField()
    username = serializers.CharField()
    message = serializers.CharField()
    timestamp = serializers.IntegerField(help_text="Milliseconds since 1970.")


class HistoryOutputSerializer(serializers.Serializer):
    roomId = serializers.CharField()
    messages = MessageOutputSerializer(many=True)
    next = serializers.CharField(
        allow_null=True, help_text="The URL of the page of older messages; null on the oldest."
    )
