"""
Flag messages on the game's socket: listing flags, placing, hardening and
removing them (teleporting to one moves the player: movement/socket.py), and
hearing of flags placed or removed nearby. docs/protocol.md describes them.

Two dialects are served. The documented one names a refusal with a frame of
its own (`flag-placement-failed`, …). The game's original browser client
(its FlagService) sends `request-flags` and nests a flag's fields under
`options`, and waits for `flag-placed`, `flag-removed` and `teleport-result`
answers carrying `success: true | false`, and `flag-updated`. A connection
speaks the client's dialect from the first message only that client sends;
every success reply carries `success: true` in both, so either client reads it.
"""

import math

from channels.db import database_sync_to_async
from django.conf import settings

from areas.repositories import AreaRepository
from flags import services
from flags.frames import flag_frame
from flags.repositories import FlagRepository
from mmo.api.throttling import FLAG_SPOTS, PlayerThrottle
from mmo.geo import bounding_box as box_polygon
from mmo.geo import point
from mmo.socket.protocol import ProtocolError, error_frame
from mmo.socket.protocol import boolean as read_boolean
from mmo.socket.protocol import integer as read_integer
from mmo.socket.protocol import position as read_position
from mmo.socket.protocol import text as read_text
from mmo.socket.registry import (
    boolean,
    bounding_box,
    event,
    identifier,
    integer,
    mapping,
    message,
    registry,
    text,
)
from mmo.socket.registry import position as position_field

FLAG_NAME_MAX_LENGTH = 100


@registry.on_authenticated
async def speak_the_documented_dialect(connection):
    connection.speaks_client_dialect = False


def speaks_client_dialect(connection) -> bool:
    """Whether this connection has shown itself to be the game's original client."""
    return getattr(connection, "speaks_client_dialect", False)


async def _act(connection, service, **arguments):
    """
    Run a flag service for the connection's player, within the flag-action
    budget: its result, or the FlagActionRefused that refused it.
    """
    try:
        return await database_sync_to_async(_within_budget)(service, connection.player, arguments)
    except services.FlagActionRefused as refused:
        return refused


def _within_budget(service, player, arguments):
    services.flag_actions_allow(player=player)
    return service(player=player, **arguments)


# Listing ----------------------------------------------------------------------------------


@message("get-flags", schema={"boundingBox": bounding_box(aliases=("bounds",))})
async def get_flags(connection, data, now):
    if data["boundingBox"] is None:
        raise ProtocolError("invalid_data", "Give boundingBox.")
    flags = await database_sync_to_async(_flags_in_box)(
        data["boundingBox"], settings.WEBSOCKET_LIST_LIMIT
    )
    await connection.send_frame("flags-list", {"flags": flags})


@message(
    "request-flags",
    schema={"areaId": text(required=False, max_length=64), "bounds": bounding_box()},
)
async def request_flags(connection, data, now):
    """The client's listing: of an area, of a box, or (neither given) around the player."""
    connection.speaks_client_dialect = True
    limit = settings.WEBSOCKET_LIST_LIMIT
    if data["areaId"] is not None:
        flags = await database_sync_to_async(_flags_in_area)(data["areaId"], limit)
    elif data["bounds"] is not None:
        flags = await database_sync_to_async(_flags_in_box)(data["bounds"], limit)
    else:
        live = connection.live
        flags = await database_sync_to_async(_flags_around)(live.lng, live.lat, limit)
    await connection.send_frame("initial-flags", {"flags": flags})


def _flags_in_box(box, limit: int) -> list[dict]:
    min_lng, min_lat, max_lng, max_lat = box
    polygon = box_polygon(min_lng=min_lng, min_lat=min_lat, max_lng=max_lng, max_lat=max_lat)
    return _frames(FlagRepository.in_box(polygon), limit)


def _flags_in_area(area_id: str, limit: int) -> list[dict]:
    area = AreaRepository.get(area_id)
    if area is None:
        raise ProtocolError("not_found", "There is no such area.")
    return _frames(FlagRepository.in_box(area.boundary), limit)


def _flags_around(lng: float, lat: float, limit: int) -> list[dict]:
    return _frames(FlagRepository.within(point(lng, lat), settings.WEBSOCKET_FLAGS_AROUND_M), limit)


def _frames(flags, limit: int) -> list[dict]:
    return [flag_frame(flag) for flag in flags.order_by("created_at")[:limit]]


# Acting ------------------------------------------------------------------------------------


@message(
    "place-flag",
    schema={
        "position": position_field(),
        "name": text(required=False, max_length=FLAG_NAME_MAX_LENGTH),
        "isPublic": boolean(default=False),
        "toll": integer(default=0),
        "options": mapping(),
    },
)
async def place_flag(connection, data, now):
    lng, lat = data["position"]
    options = data["options"]
    if options is not None:
        # The client's shape: the fields under `options`, the name optional.
        connection.speaks_client_dialect = True
        name = read_text(options, "name", required=False, max_length=FLAG_NAME_MAX_LENGTH)
        name = name or f"Flag of {connection.player.username}"
        is_public = read_boolean(options, "isPublic", default=False)
        toll = read_integer(options, "toll", default=0)
    elif data["name"] is None:
        raise ProtocolError("invalid_data", "`name` is required.")
    else:
        name, is_public, toll = data["name"], data["isPublic"], data["toll"]
    placed = await _act(
        connection,
        services.flag_place,
        lng=lng,
        lat=lat,
        name=name,
        is_public=is_public,
        toll=toll,
    )
    if not isinstance(placed, services.FlagActionRefused):
        await connection.send_frame("flag-placed", {"success": True, "flag": flag_frame(placed)})
    elif speaks_client_dialect(connection):
        await connection.send_frame("flag-placed", {**_refusal(placed), **_spot_of(placed)})
    else:
        await connection.send_frame("flag-placement-failed", _placement_refusal(placed))


def _placement_refusal(refused: services.FlagActionRefused) -> dict:
    failure = {"reason": refused.reason, "code": refused.code}
    if refused.spot is not None:
        failure["nearestSpot"] = refused.spot.frame()
    return failure


@message("harden-flag", schema={"flagId": identifier()})
async def harden_flag(connection, data, now):
    hardened = await _act(connection, services.flag_harden, flag_id=data["flagId"])
    await _answer_changed_flag(
        connection, data["flagId"], hardened, "flag-hardened", "flag-harden-failed"
    )


async def _answer_changed_flag(connection, flag_id, outcome, success: str, failure: str):
    """
    The answer to an action that changes a flag: `success {flagId, flag}` or
    `failure {flagId, reason, code}`; in the client's dialect, which waits for
    the flag as it now is, `flag-updated {flag}` or an error.
    """
    refused = isinstance(outcome, services.FlagActionRefused)
    if speaks_client_dialect(connection):
        if refused:
            await connection.send(error_frame(outcome.code, outcome.reason))
        else:
            await connection.send_frame("flag-updated", {"flag": flag_frame(outcome)})
    elif refused:
        await connection.send_frame(
            failure, {"flagId": flag_id, "reason": outcome.reason, "code": outcome.code}
        )
    else:
        await connection.send_frame(
            success, {"success": True, "flagId": flag_id, "flag": flag_frame(outcome)}
        )


@message("remove-flag", schema={"flagId": identifier()})
async def remove_flag(connection, data, now):
    flag_id = data["flagId"]
    refund = await _act(connection, services.flag_remove, flag_id=flag_id)
    if not isinstance(refund, services.FlagActionRefused):
        await connection.send_frame(
            "flag-removed", {"success": True, "flagId": flag_id, "resources": refund}
        )
    elif speaks_client_dialect(connection):
        await connection.send_frame("flag-removed", {"flagId": flag_id, **_refusal(refund)})
    else:
        await connection.send_frame(
            "flag-remove-failed", {"flagId": flag_id, "reason": refund.reason, "code": refund.code}
        )


def _spot_of(refused: services.FlagActionRefused) -> dict:
    return {"nearestSpot": refused.spot.frame()} if refused.spot is not None else {}


def _refusal(refused: services.FlagActionRefused) -> dict:
    """A refusal in the client's dialect: `success: false` and the reason as `error`."""
    return {"success": False, "error": refused.reason, "code": refused.code}


@message("takeover-flag", schema={"flagId": identifier()})
async def takeover_flag(connection, data, now):
    taken = await _act(connection, services.flag_takeover, flag_id=data["flagId"])
    await _answer_changed_flag(
        connection, data["flagId"], taken, "flag-taken-over", "flag-takeover-failed"
    )


# Where may I build? ---------------------------------------------------------------------


@message("find-flag-spots", schema={"position": mapping(), "limit": integer()})
async def find_flag_spots(connection, data, now):
    """Spots where the player may place a flag now, near a point (or where they stand)."""
    if data["position"] is not None:
        lng, lat = read_position(data)
    else:
        lng, lat = connection.live.lng, connection.live.lat
    limit = data["limit"]
    if limit is not None and limit < 1:
        raise ProtocolError("invalid_data", "`limit` must be at least 1.")
    spots = await database_sync_to_async(_spots_within_budget)(connection.player, lng, lat, limit)
    await connection.send_frame(
        "flag-spots",
        {"near": {"lat": lat, "lng": lng}, "spots": [spot.frame() for spot in spots]},
    )


def _spots_within_budget(player, lng: float, lat: float, limit: int | None):
    """The spots, within the player's budget of searches, which REST shares."""
    throttle = PlayerThrottle(FLAG_SPOTS, player.pk)
    if not throttle.allow():
        seconds = math.ceil(throttle.wait() or throttle.duration)
        raise ProtocolError(
            "rate_limited", f"Too many searches for spots; try again in {seconds} s."
        )
    return services.flag_spots(player=player, lng=lng, lat=lat, limit=limit)


# Heard from nearby ---------------------------------------------------------------------


@event("flag.placed")
async def on_flag_placed(connection, event):
    if connection.live is not None and event["actor_id"] != connection.live.player_id:
        flag = event["flag"]
        await connection.send_frame(
            "flag-placed-by-other", {"ownerId": flag["ownerId"], "flag": flag}
        )


@event("flag.removed")
async def on_flag_removed(connection, event):
    if connection.live is not None and event["actor_id"] != connection.live.player_id:
        await connection.send_frame("flag-removed", {"success": True, "flagId": event["flag_id"]})
