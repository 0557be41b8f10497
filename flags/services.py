"""
The flag rules of the original game (docs/game-rules.md); each action is one
transaction, refused with a FlagActionRefused that says why, debiting nothing.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from areas.repositories import AreaRepository
from flags.frames import flag_frame
from flags.models import Flag, FlagType
from flags.repositories import FlagRepository
from mmo import realtime
from mmo.geo import point
from mmo.sample_world import START_FLAG_ID
from movement.models import PlayerPosition
from movement.world import cell_of, next_version
from players.models import Inventory
from players.repositories import InventoryRepository


class FlagActionRefused(Exception):
    """A flag action the rules do not allow; `reason` is for the player."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Teleport:
    flag: Flag
    cost: dict[str, int]
    lng: float
    lat: float
    area_id: str | None
    version: int


def _costs_text(costs: dict[str, int]) -> str:
    return ", ".join(f"{amount} {resource.replace('_', ' ')}" for resource, amount in costs.items())


def _debit(player_id, costs: dict[str, int], action: str) -> None:
    if not InventoryRepository.debit(player_id, costs):
        inventory = Inventory.objects.get(pk=player_id)
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


def _announce_near(flag: Flag, event: dict) -> None:
    """Tell the players around the flag, after the transaction commits."""
    group = realtime.cell_group(*cell_of(flag.location.x, flag.location.y))
    realtime.announce(group, {**event, "cell": group})  # see movement.interest


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
        location, placement_range, Flag.objects.filter(pk=START_FLAG_ID)
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
    flag = Flag.objects.create(
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
    _announce_near(
        flag, {"type": "flag.placed", "flag": flag_frame(flag), "actor_id": str(player.pk)}
    )
    return flag


def _largest_radius() -> float:
    return max(settings.FLAG_RADIUS_M, FlagRepository.largest_radius())


@transaction.atomic
def flag_create_system(*, lng: float, lat: float, name: str, is_public: bool = True) -> Flag:
    """A system flag (portal, start): staff only, no cost, no placement rules."""
    flag = Flag.objects.create(
        owner=None,
        name=name.strip()[:100] or "Portal",
        location=point(lng, lat),
        flag_type=FlagType.SYSTEM,
        is_public=is_public,
        is_hardened=True,
    )
    _announce_near(flag, {"type": "flag.placed", "flag": flag_frame(flag), "actor_id": None})
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
    flag.is_hardened = True
    flag.save(update_fields=["is_hardened", "updated_at"])
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
    _announce_near(
        flag, {"type": "flag.removed", "flag_id": str(flag.pk), "actor_id": str(player.pk)}
    )
    flag.delete()
    return refund


@transaction.atomic
def flag_delete_system(*, flag_id) -> None:
    """Staff: delete a system flag."""
    flag = _locked_flag(flag_id)
    if flag.flag_type != FlagType.SYSTEM:
        raise FlagActionRefused("not_system", "Only system flags are deleted this way.")
    _announce_near(flag, {"type": "flag.removed", "flag_id": str(flag.pk), "actor_id": None})
    flag.delete()


# Teleporting ---------------------------------------------------------------------------


@transaction.atomic
def flag_teleport(*, player, flag_id) -> Teleport:
    """
    Jump to a flag: one's own for free, a system flag for roc feathers, another
    player's public flag for its toll in gold (paid to its owner). The speed
    rule does not apply; the player may then roam around that flag.
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

    now = timezone.now()
    if own:
        # A visit by its owner keeps a flag from being abandoned (or reclaims it).
        flag.last_visited_at = now
        flag.is_abandoned = False
        flag.save(update_fields=["last_visited_at", "is_abandoned", "updated_at"])

    lng, lat = flag.location.x, flag.location.y
    area = AreaRepository.containing(flag.location).order_by("id").first()
    version = next_version(
        PlayerPosition.objects.select_for_update()
        .values_list("version", flat=True)
        .get(pk=player.pk)
    )
    PlayerPosition.objects.filter(pk=player.pk).update(
        location=flag.location,
        current_area=area,
        anchor_flag=flag,
        updated_at=now,
        version=version,
    )
    teleport = Teleport(
        flag=flag,
        cost={resource: amount for resource, amount in cost.items() if amount},
        lng=lng,
        lat=lat,
        area_id=area.pk if area else None,
        version=version,
    )
    # The player's live connection, wherever it is, moves with them.
    realtime.announce(
        realtime.player_group(player.pk),
        {
            "type": "player.teleported",
            "flag_id": str(flag.pk),
            "lng": lng,
            "lat": lat,
            "version": version,
        },
    )
    return teleport


# Abandonment -------------------------------------------------------------------------


@transaction.atomic
def flags_abandon_stale(*, now=None) -> int:
    """Normal flags their owners have not visited for FLAG_ABANDON_AFTER_DAYS become abandoned."""
    now = now or timezone.now()
    horizon = now - timedelta(days=settings.FLAG_ABANDON_AFTER_DAYS)
    stale = Flag.objects.filter(
        flag_type=FlagType.NORMAL, is_abandoned=False, last_visited_at__lt=horizon
    )
    owners = set(stale.values_list("owner_id", flat=True))
    count = stale.update(is_abandoned=True, updated_at=now)
    if count:
        FlagRepository.invalidate()
        for owner_id in owners:
            realtime.announce(realtime.player_group(owner_id), {"type": "flags.changed"})
    return count
