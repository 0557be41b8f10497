"""
The flag rules of the original game (docs/game-rules.md); each action is one
transaction, refused with a FlagActionRefused that says why, debiting nothing.
Teleporting moves the player, so movement.services.player_teleport runs it,
with flag_visit here for what the flag asks of the visitor.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from flags.frames import flag_frame
from flags.models import Flag, FlagType
from flags.repositories import FlagRepository
from flags.sample_world import START_FLAG_ID
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


@transaction.atomic
def flag_place(*, player, lng: float, lat: float, name: str, is_public: bool, toll: int) -> Flag:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise FlagActionRefused("invalid_name", "A flag's name has 1 to 100 characters.")
    if not 0 <= toll <= settings.FLAG_MAX_TOLL:
        raise FlagActionRefused("invalid_toll", f"The toll is 0 to {settings.FLAG_MAX_TOLL} gold.")
    location = point(lng, lat)
    # Two players placing close together queue here; the second then sees the first's flag.
    FlagRepository.lock_region(location, settings.FLAG_SEPARATION_M + _largest_radius())

    own_flags = FlagRepository.of_owner(player.pk).filter(is_abandoned=False)
    placement_range = settings.FLAG_PLACEMENT_RANGE_M
    if own_flags.exists():
        if not FlagRepository.within(location, placement_range, own_flags).exists():
            raise FlagActionRefused(
                "too_far",
                f"A new flag must stand within {placement_range:g} m of one of your flags.",
            )
    elif not FlagRepository.within(
        location, placement_range, FlagRepository.only(START_FLAG_ID)
    ).exists():
        raise FlagActionRefused(
            "too_far", f"Your first flag must stand within {placement_range:g} m of the start flag."
        )

    conflict = FlagRepository.too_close_for(
        location, settings.FLAG_SEPARATION_M, owner_id=player.pk, max_radius=_largest_radius()
    )
    if conflict is not None:
        keep = settings.FLAG_SEPARATION_M + conflict.radius
        raise FlagActionRefused(
            "too_close",
            f"Too close to {conflict.name!r} ({conflict.distance:.0f} m away); "
            f"another player's flag needs {keep:g} m.",
        )

    _debit(player.pk, settings.FLAG_PLACE_COST, "A flag")
    flag = FlagRepository.create(
        owner=player,
        name=name,
        location=location,
        radius=settings.FLAG_RADIUS_M,
        visual_boundary=settings.FLAG_VISUAL_BOUNDARY_M,
        health=settings.FLAG_HEALTH,
        is_public=is_public,
        toll=toll,
        flag_type=FlagType.NORMAL,
        last_visited_at=timezone.now(),
    )
    flag_placed_record(player_id=player.pk)
    cell = _cell_of(flag)
    realtime.emit(
        cell, realtime.flag_placed(flag=flag_frame(flag), actor_id=str(player.pk), cell=cell)
    )
    return flag


def _largest_radius() -> float:
    return max(settings.FLAG_RADIUS_M, FlagRepository.largest_radius())


@transaction.atomic
def flag_create_system(*, lng: float, lat: float, name: str, is_public: bool = True) -> Flag:
    """A system flag (portal, start): staff only, no cost, no placement rules."""
    flag = FlagRepository.create(
        owner=None,
        name=name.strip()[:100] or "Portal",
        location=point(lng, lat),
        flag_type=FlagType.SYSTEM,
        is_public=is_public,
        is_hardened=True,
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
    refund = refund_for(flag)
    InventoryRepository.credit(player.pk, refund)
    _emit_removed(flag, actor_id=str(player.pk))
    FlagRepository.delete(flag)
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
        FlagRepository.update(flag, last_visited_at=timezone.now(), is_abandoned=False)
    return FlagVisit(
        flag=flag, cost={resource: amount for resource, amount in cost.items() if amount}
    )


# Abandonment -------------------------------------------------------------------------


@transaction.atomic
def flags_abandon_stale(*, now=None) -> int:
    """Normal flags their owners have not visited for FLAG_ABANDON_AFTER_DAYS become abandoned."""
    now = now or timezone.now()
    horizon = now - timedelta(days=settings.FLAG_ABANDON_AFTER_DAYS)
    owners = FlagRepository.abandon_unvisited_since(horizon, now=now)
    for owner_id in owners:
        realtime.emit(realtime.player_group(owner_id), realtime.flags_changed())
    return sum(owners.values())
