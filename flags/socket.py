"""
Flag messages on the game's socket: listing flags, placing, hardening and
removing them (teleporting to one moves the player: movement/socket.py), and
hearing of flags placed or removed nearby. docs/protocol.md describes them.
"""

from channels.db import database_sync_to_async
from django.conf import settings

from flags import services
from flags.frames import flag_frame
from flags.repositories import FlagRepository
from mmo.geo import bounding_box as box_polygon
from mmo.socket.protocol import ProtocolError
from mmo.socket.registry import boolean, bounding_box, event, identifier, integer, message, text
from mmo.socket.registry import position as position_field


async def _act(connection, service, failure: str, **arguments):
    """
    Run a flag service for the connection's player, within the flag-action
    budget; on a refusal answer `failure` and return None.
    """
    try:
        return await database_sync_to_async(_within_budget)(service, connection.player, arguments)
    except services.FlagActionRefused as refused:
        about = {"flagId": arguments["flag_id"]} if "flag_id" in arguments else {}
        await connection.send_frame(
            failure, {**about, "reason": refused.reason, "code": refused.code}
        )
        return None


def _within_budget(service, player, arguments):
    services.flag_actions_allow(player=player)
    return service(player=player, **arguments)


@message("get-flags", schema={"boundingBox": bounding_box(aliases=("bounds",))})
async def get_flags(connection, data, now):
    if data["boundingBox"] is None:
        raise ProtocolError("invalid_data", "Give boundingBox.")
    flags = await database_sync_to_async(_flags_in_box)(
        data["boundingBox"], settings.WEBSOCKET_LIST_LIMIT
    )
    await connection.send_frame("flags-list", {"flags": flags})


def _flags_in_box(box, limit: int) -> list[dict]:
    min_lng, min_lat, max_lng, max_lat = box
    polygon = box_polygon(min_lng=min_lng, min_lat=min_lat, max_lng=max_lng, max_lat=max_lat)
    return [
        flag_frame(flag) for flag in FlagRepository.in_box(polygon).order_by("created_at")[:limit]
    ]


@message(
    "place-flag",
    schema={
        "position": position_field(),
        "name": text(max_length=100),
        "isPublic": boolean(default=False),
        "toll": integer(default=0),
    },
)
async def place_flag(connection, data, now):
    lng, lat = data["position"]
    flag = await _act(
        connection,
        services.flag_place,
        "flag-placement-failed",
        lng=lng,
        lat=lat,
        name=data["name"],
        is_public=data["isPublic"],
        toll=data["toll"],
    )
    if flag is not None:
        await connection.send_frame("flag-placed", {"flag": flag_frame(flag)})


@message("harden-flag", schema={"flagId": identifier()})
async def harden_flag(connection, data, now):
    flag_id = data["flagId"]
    flag = await _act(connection, services.flag_harden, "flag-harden-failed", flag_id=flag_id)
    if flag is not None:
        await connection.send_frame("flag-hardened", {"flagId": flag_id, "flag": flag_frame(flag)})


@message("remove-flag", schema={"flagId": identifier()})
async def remove_flag(connection, data, now):
    flag_id = data["flagId"]
    refund = await _act(connection, services.flag_remove, "flag-remove-failed", flag_id=flag_id)
    if refund is not None:
        await connection.send_frame("flag-removed", {"flagId": flag_id, "resources": refund})


@event("flag.placed")
async def on_flag_placed(connection, event):
    if connection.live is not None and event["actor_id"] != connection.live.player_id:
        await connection.send_frame("flag-placed-by-other", {"flag": event["flag"]})


@event("flag.removed")
async def on_flag_removed(connection, event):
    if connection.live is not None and event["actor_id"] != connection.live.player_id:
        await connection.send_frame("flag-removed", {"flagId": event["flag_id"]})
