"""
Reads that gather a player's place in the world from several apps' data:
what a connection needs when it logs in (never per move), and where the
player may roam.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from flags.repositories import FlagRepository
from movement.repositories import PositionRepository
from players.repositories import PlayerStateRepository


@dataclass(frozen=True)
class PlayerSnapshot:
    player_id: str
    username: str
    display_name: str
    level: int
    experience: int
    health: int
    max_health: int
    lng: float
    lat: float
    direction: float
    area_id: str | None
    version: int
    updated_at: datetime
    anchors: list[tuple[float, float]]

    def player_data(self) -> dict:
        return {
            "id": self.player_id,
            "username": self.username,
            "displayName": self.display_name,
            "level": self.level,
            "experience": self.experience,
            "health": self.health,
            "maxHealth": self.max_health,
        }


def player_anchors(*, player_id) -> list[tuple[float, float]]:
    """
    Where the player may roam from: their standing flags, and the flag they
    last teleported to (for a new player, the start hub they began at); the
    start point if there is neither.
    """
    anchors = FlagRepository.anchor_points(
        player_id, visited=PositionRepository.anchor_flag_of(player_id)
    )
    return anchors or [tuple(settings.GAME_START_POINT)]


def player_snapshot(*, player_id) -> PlayerSnapshot:
    state = PlayerStateRepository.get(player_id)
    position = PositionRepository.of_player(player_id)
    return PlayerSnapshot(
        player_id=str(player_id),
        username=state.username,
        display_name=state.display_name,
        level=state.level,
        experience=state.experience,
        health=state.health,
        max_health=state.max_health,
        lng=position.location.x,
        lat=position.location.y,
        direction=position.direction,
        area_id=position.current_area_id,
        version=position.version,
        updated_at=position.updated_at,
        anchors=player_anchors(player_id=player_id),
    )
