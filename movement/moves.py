"""
A move, checked and applied in memory: the rules of movement/rules.py over a
connected player's live state. Nothing here sends, awaits or queries; the
socket (movement/socket.py) answers the client and tells the neighbours.
"""

import time
from dataclasses import dataclass

from django.utils import timezone

from mmo.geo import distance_m
from mmo.realtime import cell_of
from movement.rules import OUT_OF_RANGE, TOO_FAST, SpeedAllowance, heading, within_range
from movement.world import LivePlayer, World


def next_version(previous: int) -> int:
    """
    Versions grow with every accepted move and follow wall-clock time in
    microseconds, so that when a player reconnects elsewhere, the moves of the
    newer connection outrank whatever the older one still has to flush.
    """
    return max(previous + 1, time.time_ns() // 1000)


@dataclass(frozen=True)
class Move:
    """What became of a move: refused (with its reason), or where it took the player."""

    refused: str | None = None  # TOO_FAST or OUT_OF_RANGE
    left_area: str | None = None  # the area the move left, if it crossed a boundary
    entered_area: str | None = None
    area_changed: bool = False
    cell: tuple[int, int] | None = None
    # Another player's land the move left or entered (movement/territory_index.py).
    left_territory: str | None = None
    entered_territory: object | None = None


def move_player(
    world: World, live: LivePlayer, *, lng: float, lat: float, direction: float | None, now: float
) -> Move:
    """
    Apply a move to `live` if the speed and range rules allow it, and mark the
    player's position for the next batched write; `now` is server time.
    """
    limits = live.allowance.limits
    if not within_range(lng, lat, live.anchors, limits):
        return Move(refused=OUT_OF_RANGE)
    # Spent only once the range rule passed: a refused move costs nothing.
    walked = distance_m(live.lng, live.lat, lng, lat)
    if not live.allowance.spend(walked, now):
        return Move(refused=TOO_FAST)
    world.walked.add(live.player_id, walked)

    live.lng, live.lat = lng, lat
    if direction is not None:
        live.direction = heading(direction)
    live.version = next_version(live.version)
    live.updated_at = timezone.now()
    world.mark_dirty(live)
    return _relocated(world, live)


def land_player(
    world: World, live: LivePlayer, *, lng: float, lat: float, version: int
) -> Move | None:
    """
    Put `live` where a teleport took them (a jump, not a walk: the speed
    allowance starts afresh). None if the teleport is older than what the
    player did since.
    """
    if version <= live.version:
        return None
    live.lng, live.lat, live.version = lng, lat, version
    live.updated_at = timezone.now()
    live.allowance = SpeedAllowance(live.allowance.limits, now=world.clock())
    world.mark_dirty(live)  # for the presence listing; the position is stored already
    return _relocated(world, live)


def _relocated(world: World, live: LivePlayer) -> Move:
    area_id = world.area_index.area_at(live.lng, live.lat)
    previous = live.area_id
    live.area_id = area_id
    held = world.territory_index.holder_at(
        live.lng, live.lat, visitor_id=live.player_id, current=live.territory_id
    )
    left_territory = entered_territory = None
    held_id = held.flag_id if held is not None else None
    if held_id != live.territory_id:
        left_territory, entered_territory = live.territory_id, held
        live.territory_id = held_id
    return Move(
        left_area=previous if previous != area_id else None,
        entered_area=area_id if previous != area_id else None,
        area_changed=previous != area_id,
        cell=cell_of(live.lng, live.lat),
        left_territory=left_territory,
        entered_territory=entered_territory,
    )
