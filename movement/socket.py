"""
Movement's messages on the game's socket: entering and leaving the live world,
moves, teleports, and who is around. docs/protocol.md describes them.

A move is checked against the player's state in this process's memory
(movement/moves.py) and answered at once; no database query happens on the
way. Positions reach the database in batches (movement/world.py).
"""

import json

from channels.db import database_sync_to_async
from django.conf import settings

from flags import services as flag_services
from flags.socket import speaks_client_dialect
from mmo import realtime
from mmo.socket.protocol import ProtocolError, frame, lat_lng, now_ms
from mmo.socket.registry import (
    bounding_box,
    event,
    identifier,
    integer,
    message,
    number,
    position,
    text,
)
from movement import services
from movement.moves import Move, land_player, move_player
from movement.rules import MovementLimits, SpeedAllowance
from movement.selectors import PlayerSnapshot, player_anchors
from movement.world import LivePlayer

# Entering and leaving ------------------------------------------------------------------


async def world_enter(connection, snapshot: PlayerSnapshot) -> tuple[LivePlayer, dict]:
    """
    The authenticated player's live state from their stored `snapshot`,
    heard by the cells around them, and the data of their `authenticated` frame.
    """
    world = connection.world
    limits = MovementLimits.from_settings()
    # The stored position is as old as its last write; the player may have
    # walked since then (on a connection that just ended), so the speed
    # allowance counts from that moment.
    age = world.seconds_since(snapshot.updated_at)
    live = LivePlayer(
        player_id=snapshot.player_id,
        username=snapshot.username,
        display_name=snapshot.display_name,
        session_id=connection.session_id,
        lng=snapshot.lng,
        lat=snapshot.lat,
        direction=snapshot.direction,
        area_id=world.area_index.area_at(snapshot.lng, snapshot.lat),
        territory_id=_territory_at(world, snapshot),
        version=snapshot.version,
        updated_at=snapshot.updated_at,
        allowance=SpeedAllowance(
            limits,
            now=world.clock(),
            metres=min(limits.capacity_m, limits.jitter_m + age * limits.max_speed),
        ),
        anchors=snapshot.anchors,
    )
    if live.area_id:
        await connection.join(realtime.area_group(live.area_id))
    await follow_cells(connection, live, realtime.cell_of(live.lng, live.lat))
    world.join(live)
    return live, {
        "playerId": live.player_id,
        "playerData": snapshot.player_data(),
        "position": lat_lng(live.lng, live.lat),
        "area": live.area_id,
    }


def _territory_at(world, snapshot) -> str | None:
    held = world.territory_index.holder_at(
        snapshot.lng, snapshot.lat, visitor_id=snapshot.player_id
    )
    return held.flag_id if held is not None else None


async def world_entered(connection) -> None:
    """List the player as online at once, not only at the next periodic refresh."""
    try:
        await connection.world.arrivals.write(connection.live.presence())
    except Exception:
        # The next periodic refresh adds them.
        connection.world.mark_presence_dirty(connection.live)


async def world_leave(connection, live: LivePlayer) -> None:
    """Tell the neighbours, stop hearing the cells, and write the position."""
    if live.cell is not None:
        await connection.world.cells.publish(
            realtime.cell_group(*live.cell), realtime.player_disconnected(player_id=live.player_id)
        )
        await follow_cells(connection, live, None)
    await connection.world.leave(live)


async def follow_cells(connection, live: LivePlayer, cell: tuple[int, int] | None) -> None:
    """Hear the cells around `cell` (none if None): follow the new ones, drop the rest."""
    cells = connection.world.cells
    wanted = {realtime.cell_group(*c) for c in realtime.cells_around(cell)} if cell else set()
    current = (
        {realtime.cell_group(*c) for c in realtime.cells_around(live.cell)} if live.cell else set()
    )
    for group in current - wanted:
        await cells.unfollow(group, connection)
    for group in wanted - current:
        await cells.follow(group, connection)
    live.cell = cell
    if cell is None:
        connection.world.crowd.unwatch(connection)
    else:
        connection.world.crowd.watch(connection, live, cell, batched=connection.batch_moves)


async def _relocate(connection, live: LivePlayer, move: Move) -> None:
    """After a move or a jump: the area's group and frames, the cells heard."""
    if move.area_changed:
        if move.left_area:
            await connection.leave(realtime.area_group(move.left_area))
            await connection.send_frame("area-left", {"areaId": move.left_area})
        if move.entered_area:
            await connection.join(realtime.area_group(move.entered_area))
            await connection.send_frame("area-entered", {"areaId": move.entered_area})
    if move.left_territory is not None:
        await connection.send_frame("territory-left", {"flagId": move.left_territory})
    if move.entered_territory is not None:
        await connection.send_frame("territory-entered", move.entered_territory.frame())
    if move.cell != live.cell:
        await follow_cells(connection, live, move.cell)


def _moved(live: LivePlayer, timestamp: int, sent_at: float | None = None) -> dict:
    data = {
        "playerId": live.player_id,
        "username": live.username,
        "displayName": live.display_name,
        "position": lat_lng(live.lng, live.lat),
        "direction": live.direction,
        "timestamp": timestamp,
    }
    # The entry of a `players-moved` frame, by position rather than by name
    # (docs/protocol.md): a batched client hears dozens a second, and the keys
    # were two fifths of each. Names are not repeated, coordinates to 0.1 m.
    entry = [
        live.player_id,
        round(live.lat, 6),
        round(live.lng, 6),
        round(live.direction, 1),
        timestamp,
    ]
    if sent_at is not None:
        data["sentAt"] = sent_at
        entry.append(sent_at)
    return realtime.player_moved(
        player_id=live.player_id,
        lng=live.lng,
        lat=live.lat,
        frame=frame("player-moved", data),
        entry=json.dumps(entry, separators=(",", ":")),
    )


# Moves -----------------------------------------------------------------------------------


@message(
    "player-move",
    schema={
        "position": position(),
        "direction": number(required=False),
        "seq": integer(),
        # A client's own clock, echoed for latency measurements.
        "sentAt": number(required=False),
    },
)
async def player_move(connection, data, now):
    live = connection.live
    lng, lat = data["position"]
    move = move_player(
        connection.world, live, lng=lng, lat=lat, direction=data["direction"], now=now
    )
    if move.refused:
        await connection.send_frame(
            "move-rejected",
            {"reason": move.refused, "position": lat_lng(live.lng, live.lat), "seq": data["seq"]},
        )
        return
    timestamp = now_ms()
    await connection.send_frame(
        "move-ack",
        {
            "position": lat_lng(lng, lat),
            "seq": data["seq"],
            "area": live.area_id,
            "timestamp": timestamp,
        },
    )
    await _relocate(connection, live, move)
    await connection.world.cells.publish(
        realtime.cell_group(*live.cell), _moved(live, timestamp, data["sentAt"])
    )


@message("teleport-to-flag", schema={"flagId": identifier()})
async def teleport_to_flag(connection, data, now):
    flag_id = data["flagId"]
    client_dialect = speaks_client_dialect(connection)
    try:
        teleport = await database_sync_to_async(_teleport)(connection.player, flag_id)
    except flag_services.FlagActionRefused as refused:
        failure = {"flagId": flag_id, "reason": refused.reason, "code": refused.code}
        if client_dialect:
            failure = {
                "success": False,
                "flagId": flag_id,
                "error": refused.reason,
                "code": refused.code,
            }
        await connection.send_frame(
            "teleport-result" if client_dialect else "teleport-failed", failure
        )
        return
    await land(connection, teleport.lng, teleport.lat, teleport.version)
    answer = {
        "success": True,
        "flagId": flag_id,
        "position": lat_lng(teleport.lng, teleport.lat),
        "cost": teleport.cost,
        "area": connection.live.area_id if connection.live else None,
    }
    if client_dialect:
        await connection.send_frame(
            "teleport-result", {**answer, "visualBoundary": teleport.visual_boundary}
        )
    else:
        await connection.send_frame("teleport-success", answer)


def _teleport(player, flag_id) -> services.Teleport:
    flag_services.flag_actions_allow(player=player)
    return services.player_teleport(player=player, flag_id=flag_id)


async def land(connection, lng: float, lat: float, version: int) -> None:
    """Put the live player where a teleport took them, on this connection."""
    live = connection.live
    if live is None:
        return
    move = land_player(connection.world, live, lng=lng, lat=lat, version=version)
    if move is None:
        return
    live.anchors = await database_sync_to_async(player_anchors)(player_id=live.player_id)
    await _relocate(connection, live, move)
    await connection.world.cells.publish(realtime.cell_group(*live.cell), _moved(live, now_ms()))


# Who is around ---------------------------------------------------------------------------


@message(
    "get-players",
    schema={
        "areaId": text(required=False, max_length=64),
        "bounds": bounding_box(aliases=("boundingBox",)),
    },
)
async def get_players(connection, data, now):
    if data["areaId"] is None and data["bounds"] is None:
        raise ProtocolError("invalid_data", "Give areaId, bounds or boundingBox.")
    entries = await connection.world.online_players(
        area_id=data["areaId"], box=data["bounds"], limit=settings.WEBSOCKET_LIST_LIMIT
    )
    await connection.send_frame(
        "players-list", {"players": [entry.frame() for entry in entries], "timestamp": now_ms()}
    )


# Events ----------------------------------------------------------------------------------


@event("player.disconnected")
async def on_player_disconnected(connection, event):
    if connection.live is not None and event["player_id"] != connection.live.player_id:
        # Everyone around hears it, a crowd when a crowd disperses: one encoding for all.
        if "frame" not in event:
            event["frame"] = frame("player-disconnected", {"playerId": event["player_id"]})
        await connection.send_shared(event)


@event("player.teleported")
async def on_player_teleported(connection, event):
    """A teleport made over REST (or on another connection) moves this one too."""
    await land(connection, event["lng"], event["lat"], event["version"])


@event("flags.changed")
async def on_flags_changed(connection, event):
    if connection.live is not None:
        connection.live.anchors = await database_sync_to_async(player_anchors)(
            player_id=connection.live.player_id
        )
