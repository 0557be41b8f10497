"""Data access for persisted player positions."""

from django.contrib.gis.geos import Point

from movement.models import PlayerPosition


class PositionRepository:
    @staticmethod
    def create(*, player, location: Point) -> PlayerPosition:
        return PlayerPosition.objects.create(player=player, location=location)

    @staticmethod
    def get(player_id) -> PlayerPosition | None:
        return PlayerPosition.objects.select_related("current_area").filter(pk=player_id).first()
