from rest_framework import serializers

from leaderboards import services
from leaderboards.models import Leaderboard, LeaderboardSeason
from mmo.api.serializers import StrictInputSerializer


class LeaderboardOutputSerializer(serializers.ModelSerializer):
    sortOrder = serializers.CharField(source="sort_order")
    resetSchedule = serializers.CharField(source="reset_schedule")
    seasonStartedAt = serializers.DateTimeField(source="season_started_at")
    nextResetAt = serializers.SerializerMethodField()

    class Meta:
        model = Leaderboard
        fields = [
            "key",
            "name",
            "sortOrder",
            "operator",
            "resetSchedule",
            "authoritative",
            "season",
            "seasonStartedAt",
            "nextResetAt",
        ]

    def get_nextResetAt(self, board) -> str | None:
        moment = services.next_reset_at(board)
        return serializers.DateTimeField().to_representation(moment) if moment else None


class SeasonOutputSerializer(serializers.ModelSerializer):
    startedAt = serializers.DateTimeField(source="started_at")
    endedAt = serializers.DateTimeField(source="ended_at", allow_null=True)

    class Meta:
        model = LeaderboardSeason
        fields = ["number", "startedAt", "endedAt"]


class EntryOutputSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    playerId = serializers.CharField(source="player_id")
    username = serializers.CharField()
    displayName = serializers.CharField(source="display_name")
    score = serializers.IntegerField()


class StandingOutputSerializer(serializers.Serializer):
    leaderboard = LeaderboardOutputSerializer()
    season = serializers.IntegerField()
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = EntryOutputSerializer(many=True)


class AroundOutputSerializer(serializers.Serializer):
    leaderboard = LeaderboardOutputSerializer(source="board")
    season = serializers.IntegerField()
    rank = serializers.IntegerField(allow_null=True)
    score = serializers.IntegerField(allow_null=True)
    results = EntryOutputSerializer(source="entries", many=True)


class ScoreInputSerializer(StrictInputSerializer):
    playerId = serializers.UUIDField()
    score = serializers.IntegerField()
