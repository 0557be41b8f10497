"""
The flag rules of the original game (docs/game-rules.md); each action is one
transaction, refused with a FlagActionRefused that says why, debiting nothing.
Teleporting moves the player, so movement.services.player_teleport runs it,
with flag_visit here for what the flag asks of the visitor.
"""

import copy
import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from flags.frames import flag_frame
from flags.models import Flag, FlagType
from flags.repositories import FlagRepository
from flags.spots import Spot, spots_near, spots_text
from leaderboards.services import flag_placed_record, toll_record
from mmo import realtime
from mmo.api.throttling import FLAG_ACTIONS, PlayerThrottle
from mmo.geo import point
from players.repositories import InventoryRepository


class FlagActionRefused(Exception):
    """A flag action the rules do not allow; `reason` is for the player."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.spot: Spot | None = None  # the nearest spot allowed, for placement refusals


@dataclass(frozen=True)
class FlagVisit:
    flag: Flag
    cost: dict[str, int]  # what the visitor paid, without zero amounts


def flag_actions_allow(*, player) -> None:
    """
    Refuse a flag action past the player's budget of FLAG_ACTIONS, which the
    socket and the REST API share.
    """
    throttle = PlayerThrottle(FLAG_ACTIONS, player.pk)
    if not throttle.allow():
        seconds = math.ceil(throttle.wait() or throttle.duration)
        raise FlagActionRefused("rate_limited", f"Too many flag actions; try again in {seconds} s.")


def _costs_text(costs: dict[str, int]) -> str:
    return ", ".join(f"{amount} {resource.replace('_', ' ')}" for resource, amount in costs.items())


def _debit(player_id, costs: dict[str, int], action: str) -> None:
    if not InventoryRepository.debit(player_id, costs):
        inventory = InventoryRepository.get(player_id)
        missing = {
            resource: amount - getattr(inventory, resource)
            for resource, amount in costs.items()
            if getattr(inventory, resource) < amount
        }
        raise FlagActionRefused(
            "insufficient_resources",
            f"{action} costs {_costs_text(costs)}; you lack {_costs_text(missing)}.",
        )


def _locked_flag(flag_id) -> Flag:
    flag = FlagRepository.get_for_update(flag_id)
    if flag is None:
        raise FlagActionRefused("not_found", "There is no such flag.")
    return flag


def _cell_of(flag: Flag) -> str:
    return realtime.cell_group_of(flag.location.x, flag.location.y)


# Placing ------------------------------------------------------------------------------

# Refusals that a spot elsewhere would overcome: they name the nearest one.
SPOT_CODES = ("too_far", "claimed_land", "too_little_land")


def flag_place(*, player, lng: float, lat: float, name: str, is_public: bool, toll: int) -> Flag:
    """
    Place a flag where the rules allow (docs/game-rules.md): in the player's
    range, on land no other player holds, keeping at least the minimum share
    of its disc. A refusal that a spot elsewhere would overcome names the
    nearest such spot (`spot`).
    """
    try:
        return _flag_place(
            player=player, lng=lng, lat=lat, name=name, is_public=is_public, toll=toll
        )
    except FlagActionRefused as refused:
        if refused.code in SPOT_CODES:
            found = spots_near(player_id=player.pk, lng=lng, lat=lat, limit=1)
            refused.reason += spots_text(found)
            refused.spot = found[0] if found else None
        raise


@transaction.atomic
def _flag_place(*, player, lng, lat, name, is_public, toll) -> Flag:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise FlagActionRefused("invalid_name", "A flag's name has 1 to 100 characters.")
    if not 0 <= toll <= settings.FLAG_MAX_TOLL:
        raise FlagActionRefused("invalid_toll", f"The toll is 0 to {settings.FLAG_MAX_TOLL} gold.")
    location = point(lng, lat)
    radius = settings.FLAG_RADIUS_M
    # Placements whose discs could touch queue here; the second then sees the first's land.
    FlagRepository.lock_region(location, 2 * _largest_radius())
    _check_range(player, location)
    claimant = FlagRepository.claimant_at(location, owner_id=player.pk)
    if claimant is not None:
        raise FlagActionRefused(
            "claimed_land",
            f"This spot is {claimant.owner.username}'s land (their flag {claimant.name!r}).",
        )
    land = FlagRepository.land_for(location, radius, owner_id=player.pk)
    minimum = settings.FLAG_MIN_TERRITORY_SHARE
    if land.share < minimum:
        raise FlagActionRefused(
            "too_little_land",
            f"A flag here would hold {land.share:.0%} of its land; it needs {minimum:.0%}.",
        )

    _debit(player.pk, settings.FLAG_PLACE_COST, "A flag")
    flag = FlagRepository.create(
        owner=player,
        name=name,
        location=location,
        radius=radius,
        visual_boundary=settings.FLAG_VISUAL_BOUNDARY_M,
        health=settings.FLAG_HEALTH,
        is_public=is_public,
        toll=toll,
        flag_type=FlagType.NORMAL,
        last_visited_at=timezone.now(),
        territory=land.territory,
        claimed_at=FlagRepository.database_now(),
    )
    flag_placed_record(player_id=player.pk)
    cell = _cell_of(flag)
    realtime.emit(
        cell, realtime.flag_placed(flag=flag_frame(flag), actor_id=str(player.pk), cell=cell)
    )
    _territories_changed([flag.pk])
    return flag


def _check_range(player, location) -> None:
    """A later flag near an own flag; a first flag near a start hub or a settlement's edge."""
    placement_range = settings.FLAG_PLACEMENT_RANGE_M
    own_flags = FlagRepository.standing_of_players().filter(owner_id=player.pk)
    if own_flags.exists():
        if not FlagRepository.within(location, placement_range, own_flags).exists():
            raise FlagActionRefused(
                "too_far",
                f"A new flag must stand within {placement_range:g} m of one of your flags.",
            )
        return
    hub_range = settings.FLAG_HUB_RANGE_M
    hubs = FlagRepository.all().filter(is_start_hub=True)
    if FlagRepository.within(location, hub_range, hubs).exists():
        return
    if FlagRepository.within(
        location, placement_range, FlagRepository.standing_of_players()
    ).exists():
        return
    raise FlagActionRefused(
        "too_far",
        f"Your first flag must stand within {hub_range:g} m of a start hub, "
        f"or within {placement_range:g} m of another player's flag.",
    )


def flag_spots(*, player, lng: float, lat: float, limit: int | None = None) -> list[Spot]:
    """Where the player may place a flag now, nearest to (lng, lat) first."""
    limit = min(limit or settings.FLAG_SPOTS_LIMIT, settings.FLAG_SPOTS_LIMIT)
    return spots_near(player_id=player.pk, lng=lng, lat=lat, limit=limit)


def start_hub_for_newcomer() -> Flag | None:
    """
    Where a new player starts: the first start hub (in the hubs' order) with
    room, fewer than FLAG_HUB_CAPACITY players' flags within its range; when
    every hub is that crowded, the least crowded one.
    """
    hubs = FlagRepository.start_hubs()
    crowding = []
    for hub in hubs:
        claims = FlagRepository.claims_near(hub.location, settings.FLAG_HUB_RANGE_M)
        if claims < settings.FLAG_HUB_CAPACITY:
            return hub
        crowding.append((claims, len(crowding), hub))
    return min(crowding)[2] if crowding else None


def _territories_changed(flag_ids) -> None:
    if flag_ids:
        realtime.emit(
            realtime.WORLD_GROUP,
            realtime.territories_changed(flag_ids=[str(flag_id) for flag_id in flag_ids]),
        )


def _release(flag: Flag, territory) -> list:
    """
    `flag` lets go of its land (removed, abandoned, taken over): the later
    claims of other players that overlap it take what they can of it, in the
    order they were made. Returns the ids of the flags whose land changed.
    The caller holds the locks of the region (`_lock_release`).
    """
    if territory is None:
        return []
    reach = flag.radius + _largest_radius()
    changed = []
    for later in FlagRepository.claims_after(flag, reach):
        before = later.territory
        FlagRepository.claim(later)
        if before is None or later.territory is None or not before.equals(later.territory):
            changed.append(later.pk)
    return changed


def _lock_release(flag: Flag) -> None:
    """
    A release rewrites land within a radius of the flag, and each flag it
    rewrites reads the land of its own neighbours: it queues with any other
    placement or release within four radii.
    """
    FlagRepository.lock_region(flag.location, 4 * _largest_radius())


def _largest_radius() -> float:
    return max(settings.FLAG_RADIUS_M, FlagRepository.largest_radius())


@transaction.atomic
def flag_create_system(
    *, lng: float, lat: float, name: str, is_public: bool = True, is_start_hub: bool = False
) -> Flag:
    """A system flag (portal, start hub): staff only, no cost, no placement rules, no land."""
    flag = FlagRepository.create(
        owner=None,
        name=name.strip()[:100] or "Portal",
        location=point(lng, lat),
        flag_type=FlagType.SYSTEM,
        is_public=is_public,
        is_hardened=True,
        is_start_hub=is_start_hub,
    )
    cell = _cell_of(flag)
    realtime.emit(cell, realtime.flag_placed(flag=flag_frame(flag), actor_id=None, cell=cell))
    return flag


# Hardening and removing ------------------------------------------------------------


@transaction.atomic
def flag_harden(*, player, flag_id) -> Flag:
    flag = _locked_flag(flag_id)
    if flag.owner_id != player.pk:
        raise FlagActionRefused("not_owner", "Only the flag's owner can harden it.")
    if flag.is_hardened:
        raise FlagActionRefused("already_hardened", "This flag is hardened already.")
    _debit(player.pk, settings.FLAG_HARDEN_COST, "Hardening")
    FlagRepository.update(flag, is_hardened=True)
    return flag


def refund_for(flag: Flag) -> dict[str, int]:
    refunds = settings.FLAG_REMOVE_REFUNDS
    if flag.flag_type == FlagType.NORMAL:
        return dict(refunds["hardened" if flag.is_hardened else "normal"])
    return dict(refunds.get(flag.flag_type, {}))


@transaction.atomic
def flag_remove(*, player, flag_id) -> dict[str, int]:
    """Take down one's own flag; returns the resources refunded."""
    flag = _locked_flag(flag_id)
    if flag.flag_type == FlagType.SYSTEM:
        raise FlagActionRefused("system_flag", "System flags cannot be removed.")
    if flag.owner_id != player.pk:
        raise FlagActionRefused("not_owner", "Only the flag's owner can remove it.")
    # Locks in one order everywhere: the flag's row, the region, then inventories.
    _lock_release(flag)
    refund = refund_for(flag)
    InventoryRepository.credit(player.pk, refund)
    _emit_removed(flag, actor_id=str(player.pk))
    removed = copy.copy(flag)
    FlagRepository.delete(flag)
    _territories_changed([removed.pk, *_release(removed, removed.territory)])
    return refund


def _emit_removed(flag: Flag, *, actor_id: str | None) -> None:
    cell = _cell_of(flag)
    realtime.emit(cell, realtime.flag_removed(flag_id=str(flag.pk), actor_id=actor_id, cell=cell))


@transaction.atomic
def flag_delete_system(*, flag_id) -> None:
    """Staff: delete a system flag."""
    flag = _locked_flag(flag_id)
    if flag.flag_type != FlagType.SYSTEM:
        raise FlagActionRefused("not_system", "Only system flags are deleted this way.")
    _emit_removed(flag, actor_id=None)
    FlagRepository.delete(flag)


@transaction.atomic
def flag_delete_by_staff(*, flag_id) -> None:
    """Staff (the admin): delete any flag; later claims around it take its land."""
    flag = FlagRepository.get_for_update(flag_id)
    if flag is None:
        return
    _lock_release(flag)
    _emit_removed(flag, actor_id=None)
    removed = copy.copy(flag)
    FlagRepository.delete(flag)
    _territories_changed([removed.pk, *_release(removed, removed.territory)])


# Teleporting ---------------------------------------------------------------------------


@transaction.atomic
def flag_visit(*, player, flag_id) -> FlagVisit:
    """
    What a teleport to a flag asks of the visitor: nothing at one's own flag,
    roc feathers at a system flag, a public flag's toll in gold (paid to its
    owner); others' private and abandoned flags refuse visitors. An owner's
    visit keeps the flag from being abandoned (or reclaims it).
    """
    flag = _locked_flag(flag_id)
    own = flag.owner_id == player.pk
    if own and flag.is_abandoned:
        _lock_claim(flag)
    if own:
        cost = {}
    elif flag.flag_type == FlagType.SYSTEM:
        cost = dict(settings.FLAG_TELEPORT_TO_SYSTEM_COST)
    elif flag.is_abandoned:
        raise FlagActionRefused("abandoned", "This flag is abandoned.")
    elif not flag.is_public:
        raise FlagActionRefused("private_flag", "This flag is private to its owner.")
    else:
        cost = {"gold": flag.toll}
    _debit(player.pk, cost, "This teleport")
    if not own and flag.owner_id and cost.get("gold"):
        InventoryRepository.credit(flag.owner_id, cost)
        toll_record(payer_id=player.pk, owner_id=flag.owner_id, gold=cost["gold"])
    if own:
        reclaimed = flag.is_abandoned
        FlagRepository.update(flag, last_visited_at=timezone.now(), is_abandoned=False)
        if reclaimed:
            _claim_anew(flag)
    return FlagVisit(
        flag=flag, cost={resource: amount for resource, amount in cost.items() if amount}
    )


# Taking over --------------------------------------------------------------------------

# Abandoned flags of these kinds stay as they are: nobody takes them over.
NOT_TAKEN_OVER = (FlagType.ROC_SHRINE, FlagType.GUARD_TOWER, FlagType.SYSTEM)


@transaction.atomic
def flag_takeover(*, player, flag_id) -> Flag:
    """
    Take over another player's abandoned flag for FLAG_TAKEOVER_COST: it
    becomes the player's, hardening kept, and claims the land free around it
    now (it claims last, like a new flag, but with no minimum share: the flag
    stands already).
    """
    flag = _locked_flag(flag_id)
    if flag.flag_type in NOT_TAKEN_OVER:
        kind = {FlagType.SYSTEM: "System flags"}.get(flag.flag_type, f"Abandoned {flag.flag_type}s")
        raise FlagActionRefused("not_taken_over", f"{kind.replace('-', ' ')} cannot be taken over.")
    if not flag.is_abandoned:
        raise FlagActionRefused("not_abandoned", "Only abandoned flags can be taken over.")
    if flag.owner_id == player.pk:
        raise FlagActionRefused("own_flag", "This flag is yours; visit it to reclaim it.")
    _lock_claim(flag)
    _debit(player.pk, settings.FLAG_TAKEOVER_COST, "Taking over a flag")
    previous_owner = flag.owner_id
    FlagRepository.update(flag, owner=player, is_abandoned=False, last_visited_at=timezone.now())
    _claim_anew(flag)
    realtime.emit(realtime.player_group(previous_owner), realtime.flags_changed())
    cell = _cell_of(flag)
    realtime.emit(
        cell, realtime.flag_placed(flag=flag_frame(flag), actor_id=str(player.pk), cell=cell)
    )
    return flag


def _lock_claim(flag: Flag) -> None:
    FlagRepository.lock_region(flag.location, 2 * _largest_radius())


def _claim_anew(flag: Flag) -> None:
    """
    A flag standing again (taken over, reclaimed) claims the land free now,
    last; the caller holds the region's locks (`_lock_claim`).
    """
    FlagRepository.update(flag, claimed_at=FlagRepository.database_now())
    FlagRepository.claim(flag)
    _territories_changed([flag.pk])


@transaction.atomic
def flag_territory_refresh(*, flag_id) -> None:
    """
    After staff edited a flag (moved it, changed its radius, owner or
    abandonment): its land, and that of the later claims around it, again.
    """
    flag = _locked_flag(flag_id)
    _lock_release(flag)
    previous = flag.territory
    FlagRepository.claim(flag)
    reclaimed = _release(flag, previous or flag.territory)
    _territories_changed([flag.pk, *reclaimed])


# Abandonment -------------------------------------------------------------------------


def flags_abandon_stale(*, now=None) -> int:
    """
    Normal flags their owners have not visited for FLAG_ABANDON_AFTER_DAYS
    become abandoned and let go of their land, one transaction each (each
    takes the locks of its own region, so they cannot deadlock with placements).
    """
    now = now or timezone.now()
    horizon = now - timedelta(days=settings.FLAG_ABANDON_AFTER_DAYS)
    abandoned = 0
    for flag_id in FlagRepository.unvisited_since(horizon):
        abandoned += _abandon(flag_id, horizon=horizon, now=now)
    return abandoned


@transaction.atomic
def _abandon(flag_id, *, horizon, now) -> int:
    flag = FlagRepository.get_for_update(flag_id)
    if flag is None:
        return 0
    _lock_release(flag)
    if flag.is_abandoned or flag.last_visited_at >= horizon:
        return 0  # visited meanwhile
    territory = flag.territory
    FlagRepository.update(flag, is_abandoned=True, territory=None)
    _territories_changed([flag.pk, *_release(flag, territory)])
    return 1
