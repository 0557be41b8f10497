"""
Writes to where players are: a new player's place at the start, and teleports.
Moves are not here: they are checked in memory (movement/moves.py) and stored
in batches (movement/world.py).
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from areas.repositories import AreaRepository
from flags import services as flag_services
from mmo import realtime
from mmo.geo import point
from movement.moves import next_version
from movement.repositories import PositionRepository


@dataclass(frozen=True)
class Teleport:
    flag_id: str
    cost: dict[str, int]
    lng: float
    lat: float
    area_id: str | None
    version: int
    visual_boundary: float  # of the flag: how far around it the client draws its land


def position_create(*, player) -> None:
    """
    A new player stands at a start hub with room (flags.services.start_hub_for_newcomer),
    free to roam around it; at the start point if the world has no hub.
    """
    hub = flag_services.start_hub_for_newcomer()
    if hub is None:
        start_lng, start_lat = settings.GAME_START_POINT
        PositionRepository.create(player=player, location=point(start_lng, start_lat))
        return
    area = AreaRepository.containing(hub.location).order_by("id").first()
    PositionRepository.create(
        player=player, location=hub.location, anchor_flag=hub, current_area=area
    )


@transaction.atomic
def player_teleport(*, player, flag_id) -> Teleport:
    """
    Jump to a flag, paying what the flag rules ask (flags.services.flag_visit).
    The speed rule does not apply; the player may then roam around that flag.
    Their live connection, on whichever process holds it, moves with them.
    """
    visit = flag_services.flag_visit(player=player, flag_id=flag_id)
    location = visit.flag.location
    area = AreaRepository.containing(location).order_by("id").first()
    version = next_version(PositionRepository.version_for_update(player.pk))
    PositionRepository.jump(
        player.pk,
        location=location,
        area_id=area.pk if area else None,
        anchor_flag_id=visit.flag.pk,
        updated_at=timezone.now(),
        version=version,
    )
    teleport = Teleport(
        flag_id=str(visit.flag.pk),
        cost=visit.cost,
        lng=location.x,
        lat=location.y,
        area_id=area.pk if area else None,
        version=version,
        visual_boundary=visit.flag.visual_boundary,
    )
    realtime.emit(
        realtime.player_group(player.pk),
        realtime.player_teleported(
            flag_id=teleport.flag_id, lng=teleport.lng, lat=teleport.lat, version=version
        ),
    )
    return teleport
