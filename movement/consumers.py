"""
The game's WebSocket (`/ws/game/`): authentication, movement, interest-managed
fan-out, chat and listings, as docs/protocol.md describes.

A move is checked against the player's state in this process's memory and
answered at once; no database query happens on the way. Positions reach the
database in batches (movement.world).
"""

import asyncio
import logging
import math
import re
import time
import uuid

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from redis.exceptions import RedisError
from rest_framework.exceptions import AuthenticationFailed

from flags import services as flag_services
from flags.frames import flag_frame
from flags.repositories import FlagRepository
from mmo import realtime
from mmo.api.throttling import FLAG_ACTIONS, PlayerThrottle
from mmo.geo import bounding_box, distance_m
from mmo.ratelimit import TokenBucket, WindowCounter
from mmo.servers.backlog import WRITE_FRAME, text_frame
from movement import protocol
from movement.protocol import ProtocolError, error_frame, frame, lat_lng, now_ms
from movement.rules import (
    OUT_OF_RANGE,
    TOO_FAST,
    MovementLimits,
    SpeedAllowance,
    heading,
    within_range,
)
from movement.services import player_anchors, player_snapshot
from movement.world import LivePlayer, cell_of, cells_around, live_world, next_version
from players.authentication import authenticate_access_token

logger = logging.getLogger(__name__)

# Close codes (4000–4999 are the application's own).
CLOSE_SUPERSEDED = 4000
CLOSE_AUTH_FAILED = 4001
CLOSE_SESSION_ENDED = 4003
CLOSE_ABUSE = 4008

CHAT_SCOPES = ("global", "area", "private")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class GameConsumer(AsyncWebsocketConsumer):
    async def dispatch(self, message):
        """
        Channels closes stale database connections before every message it
        dispatches: a hop to the one thread for synchronous code, per frame and
        per group event, which made that thread the bottleneck under load. This
        consumer touches the database only through database_sync_to_async,
        which closes them itself, so moves stay on the event loop.
        """
        message_type = message.get("type", "")
        handler = (
            None if message_type.startswith("_") else getattr(self, get_handler_name(message), None)
        )
        if message_type.startswith("websocket."):
            if handler is None:
                raise ValueError(f"No handler for message type {message_type}")
            await handler(message)
            return
        # An event from the channel layer. During a rolling deployment a process
        # of another version may send one this code does not know, or of another
        # shape: it is dropped, never allowed to end the player's connection.
        if handler is None:
            logger.warning("ignoring an event of unknown type %r", message_type)
            return
        try:
            await handler(message)
        except (KeyError, TypeError, ValueError, AttributeError):
            logger.warning("ignoring a malformed %r event", message_type, exc_info=True)

    # Connection lifecycle ---------------------------------------------------------

    async def connect(self):
        self.world = live_world()
        self.live: LivePlayer | None = None
        self.memberships = realtime.Memberships(self.channel_layer, self.channel_name)
        self.closing = False
        now = self.world.clock()
        self.message_bucket = TokenBucket(settings.WEBSOCKET_RATE, settings.WEBSOCKET_BURST, now)
        self.chat_bucket = TokenBucket(settings.CHAT_RATE, settings.CHAT_BURST, now)
        self.abuse = WindowCounter(10.0)
        self.auth_timer = None
        await self.world.start()
        await self.accept()

        header_token = _bearer_token(self.scope)
        if header_token is not None:
            await self.authenticate(header_token)
        else:
            self.auth_timer = asyncio.create_task(self._require_authentication())

    async def _require_authentication(self):
        await asyncio.sleep(settings.WEBSOCKET_AUTH_TIMEOUT)
        if self.live is None and not self.closing:
            await self.send(error_frame("auth_timeout", "Authenticate within the time allowed."))
            await self.shut(CLOSE_AUTH_FAILED)

    async def disconnect(self, code):
        self.closing = True
        if self.auth_timer is not None:
            self.auth_timer.cancel()
        live, self.live = self.live, None
        if live is not None:
            if live.cell is not None:
                await self.world.cells.publish(
                    realtime.cell_group(*live.cell),
                    {"type": "player.disconnected", "player_id": live.player_id},
                )
                await self._follow_cells(live, None)
            await self.world.leave(live)
        await self.memberships.leave_all()

    async def shut(self, code: int):
        self.closing = True
        await self.close(code=code)

    # Incoming frames ----------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if self.closing:
            return
        now = self.world.clock()
        if not self.message_bucket.take(now):
            await self._refuse("rate_limited", "Too many messages; slow down.", now)
            return
        message_type = None
        try:
            if text_data is None:
                raise ProtocolError("invalid_frame", "Frames are JSON text, not binary.")
            message_type, data = protocol.parse_frame(text_data)
            handler = self.HANDLERS.get(message_type)
            if handler is None:
                raise ProtocolError("unknown_type", f"Unknown message type {message_type[:50]!r}.")
            if self.live is None and message_type != "authenticate":
                raise ProtocolError("not_authenticated", "Send authenticate first.")
            await handler(self, data, now)
        except ProtocolError as error:
            await self._refuse(error.code, error.message, now)
        except (OperationalError, InterfaceError, RedisError) as error:
            # The database or Redis is restarting or out of reach: nothing
            # happened, and the client may send the same message again in a moment.
            logger.warning("%s unavailable for a %s: %s", _service(error), message_type, error)
            await self.send(
                error_frame(
                    "unavailable",
                    f"The server cannot reach its {_service(error)}; try again shortly.",
                )
            )

    async def _refuse(self, code: str, message: str, now: float):
        await self.send(error_frame(code, message))
        if self.abuse.add(now) > settings.WEBSOCKET_ABUSE_LIMIT:
            logger.warning("closing a connection for sustained abuse (%s)", code)
            await self.shut(CLOSE_ABUSE)

    # Authentication -------------------------------------------------------------

    async def on_authenticate(self, data, now):
        if self.live is not None:
            raise ProtocolError("already_authenticated", "This connection is authenticated.")
        token = protocol.text(data, "token", max_length=4096)
        await self.authenticate(
            token,
            claimed_id=protocol.text(data, "playerId", required=False, max_length=64),
            claimed_username=protocol.text(data, "username", required=False, max_length=50),
        )

    async def authenticate(self, token: str, claimed_id=None, claimed_username=None):
        try:
            player, session_id = await database_sync_to_async(authenticate_access_token)(token)
        except AuthenticationFailed as error:
            await self._fail_authentication(str(error.detail))
            return
        if (claimed_id is not None and claimed_id != str(player.pk)) or (
            claimed_username is not None and claimed_username != player.username
        ):
            await self._fail_authentication("playerId or username do not match the token.")
            return
        if self.auth_timer is not None:
            # Not kept: a cancelled task holds its CancelledError, and that the
            # frames it was raised in, for as long as the connection lasts.
            self.auth_timer.cancel()
            self.auth_timer = None

        snapshot = await database_sync_to_async(player_snapshot)(player_id=player.pk)
        limits = MovementLimits.from_settings()
        # The stored position is as old as its last write; the player may have
        # walked since then (on a connection that just ended), so the speed
        # allowance counts from that moment.
        age = self.world.seconds_since(snapshot.updated_at)
        now = self.world.clock()
        live = LivePlayer(
            player_id=snapshot.player_id,
            username=snapshot.username,
            display_name=snapshot.display_name,
            session_id=str(session_id),
            lng=snapshot.lng,
            lat=snapshot.lat,
            direction=snapshot.direction,
            area_id=self.world.area_index.area_at(snapshot.lng, snapshot.lat),
            version=snapshot.version,
            updated_at=snapshot.updated_at,
            allowance=SpeedAllowance(
                limits,
                now=now,
                metres=min(limits.capacity_m, limits.jitter_m + age * limits.max_speed),
            ),
            anchors=snapshot.anchors,
        )
        self.limits = limits
        self.player = player

        # Other connections of this player, here or on another process, give way
        # to the newest. (Events may arrive late: an older connection's own
        # announcement can reach this one after it joined the group.)
        self.authenticated_at = time.time_ns()
        await self._join_group(realtime.player_group(live.player_id))
        await self._publish(
            realtime.player_group(live.player_id),
            {
                "type": "player.superseded",
                "channel": self.channel_name,
                "authenticated_at": self.authenticated_at,
            },
        )
        await self._join_group(realtime.session_group(live.session_id))
        await self._join_group(realtime.GLOBAL_CHAT_GROUP)
        if live.area_id:
            await self._join_group(realtime.area_group(live.area_id))
        await self._follow_cells(live, cell_of(live.lng, live.lat))

        self.world.join(live)
        await self.send(
            frame(
                "authenticated",
                {
                    "playerId": live.player_id,
                    "playerData": snapshot.player_data(),
                    "position": lat_lng(live.lng, live.lat),
                    "area": live.area_id,
                },
            )
        )
        # Only now do the events of others reach this connection: players on
        # this process are told directly, so nothing may come before
        # "authenticated".
        self.live = live
        try:
            await self.world.presence.refresh([live.presence()])
        except Exception:
            logger.warning("presence refresh failed at login", exc_info=True)
            self.world.mark_presence_dirty(live)  # the next periodic refresh adds it

    async def _fail_authentication(self, reason: str):
        await self.send(error_frame("auth_failed", reason))
        await self.shut(CLOSE_AUTH_FAILED)

    # Movement ----------------------------------------------------------------------

    async def on_player_move(self, data, now):
        lng, lat = protocol.position(data)
        direction = protocol.number(data, "direction", required=False)
        seq = data.get("seq")
        if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
            raise ProtocolError("invalid_data", "`seq` must be an integer.")
        # A client's own clock, echoed for latency measurements. Read with the
        # other fields: a move is refused whole or applied whole.
        sent_at = protocol.number(data, "sentAt", required=False)
        live = self.live

        if not within_range(lng, lat, live.anchors, self.limits):
            await self._reject_move(OUT_OF_RANGE, seq)
            return
        distance = distance_m(live.lng, live.lat, lng, lat)
        if not live.allowance.spend(distance, now):
            await self._reject_move(TOO_FAST, seq)
            return

        live.lng, live.lat = lng, lat
        if direction is not None:
            live.direction = heading(direction)
        live.version = next_version(live.version)
        live.updated_at = timezone.now()
        self.world.mark_dirty(live)
        timestamp = now_ms()
        area_id = self.world.area_index.area_at(lng, lat)

        await self.send(
            frame(
                "move-ack",
                {
                    "position": lat_lng(lng, lat),
                    "seq": seq,
                    "area": area_id,
                    "timestamp": timestamp,
                },
            )
        )
        if area_id != live.area_id:
            await self._change_area(live, area_id)
        cell = cell_of(lng, lat)
        if cell != live.cell:
            await self._follow_cells(live, cell)
        await self.world.cells.publish(
            realtime.cell_group(*cell), _moved_event(live, timestamp, sent_at)
        )

    async def _reject_move(self, reason: str, seq):
        live = self.live
        await self.send(
            frame(
                "move-rejected",
                {"reason": reason, "position": lat_lng(live.lng, live.lat), "seq": seq},
            )
        )

    async def _change_area(self, live: LivePlayer, area_id: str | None):
        if live.area_id:
            await self._leave_group(realtime.area_group(live.area_id))
            await self.send(frame("area-left", {"areaId": live.area_id}))
        live.area_id = area_id
        if area_id:
            await self._join_group(realtime.area_group(area_id))
            await self.send(frame("area-entered", {"areaId": area_id}))

    async def _follow_cells(self, live: LivePlayer, cell: tuple[int, int] | None):
        """Hear the cells around `cell` (none if None): follow the new ones, drop the rest."""
        wanted = {realtime.cell_group(*c) for c in cells_around(cell)} if cell else set()
        current = {realtime.cell_group(*c) for c in cells_around(live.cell)} if live.cell else set()
        for group in current - wanted:
            await self.world.cells.unfollow(group, self)
        for group in wanted - current:
            await self.world.cells.follow(group, self)
        live.cell = cell

    # Listings ---------------------------------------------------------------------

    async def on_get_players(self, data, now):
        limit = settings.WEBSOCKET_LIST_LIMIT
        area_id = protocol.text(data, "areaId", required=False, max_length=64)
        box = protocol.bounding_box(data, "bounds", "boundingBox")
        if area_id is None and box is None:
            raise ProtocolError("invalid_data", "Give areaId, bounds or boundingBox.")
        try:
            if area_id is not None:
                entries = await self.world.presence.in_area(area_id, limit)
            else:
                entries = await self.world.presence.in_box(box, limit)
        except RedisError as error:
            # Redis is out of reach: this process's own players are all we know.
            realtime.layer_unreachable("list", "presence", error)
            entries = []
        players = {entry.player_id: entry for entry in entries}
        # This process's own players are fresher than the shared presence.
        for live in self.world.players.values():
            if live.player_id in players or _matches(live, area_id, box):
                players[live.player_id] = live.presence()
        listed = [entry.frame() for entry in players.values() if _matches(entry, area_id, box)]
        await self.send(frame("players-list", {"players": listed[:limit], "timestamp": now_ms()}))

    async def on_get_flags(self, data, now):
        box = protocol.bounding_box(data, "boundingBox", "bounds")
        if box is None:
            raise ProtocolError("invalid_data", "Give boundingBox.")
        flags = await database_sync_to_async(_flags_in_box)(box, settings.WEBSOCKET_LIST_LIMIT)
        await self.send(frame("flags-list", {"flags": flags}))

    # Flags --------------------------------------------------------------------------

    async def _flag_action(self, service, failure: str, **arguments):
        """Run a flag service for this player; on a refusal answer `failure` and return None."""
        try:
            return await database_sync_to_async(_throttled)(service, self.player, **arguments)
        except flag_services.FlagActionRefused as refused:
            about = {"flagId": arguments["flag_id"]} if "flag_id" in arguments else {}
            await self.send(
                frame(failure, {**about, "reason": refused.reason, "code": refused.code})
            )
            return None

    async def on_place_flag(self, data, now):
        lng, lat = protocol.position(data)
        flag = await self._flag_action(
            flag_services.flag_place,
            "flag-placement-failed",
            lng=lng,
            lat=lat,
            name=protocol.text(data, "name", max_length=100),
            is_public=protocol.boolean(data, "isPublic", default=False),
            toll=protocol.integer(data, "toll", default=0),
        )
        if flag is not None:
            await self.send(frame("flag-placed", {"flag": flag_frame(flag)}))

    async def on_harden_flag(self, data, now):
        flag_id = protocol.identifier(data, "flagId")
        flag = await self._flag_action(
            flag_services.flag_harden, "flag-harden-failed", flag_id=flag_id
        )
        if flag is not None:
            await self.send(frame("flag-hardened", {"flagId": flag_id, "flag": flag_frame(flag)}))

    async def on_remove_flag(self, data, now):
        flag_id = protocol.identifier(data, "flagId")
        refund = await self._flag_action(
            flag_services.flag_remove, "flag-remove-failed", flag_id=flag_id
        )
        if refund is not None:
            await self.send(frame("flag-removed", {"flagId": flag_id, "resources": refund}))

    async def on_teleport_to_flag(self, data, now):
        flag_id = protocol.identifier(data, "flagId")
        teleport = await self._flag_action(
            flag_services.flag_teleport, "teleport-failed", flag_id=flag_id
        )
        if teleport is None:
            return
        await self._land(teleport.lng, teleport.lat, teleport.version)
        await self.send(
            frame(
                "teleport-success",
                {
                    "flagId": flag_id,
                    "position": lat_lng(teleport.lng, teleport.lat),
                    "cost": teleport.cost,
                    "area": self.live.area_id if self.live else None,
                },
            )
        )

    async def _land(self, lng: float, lat: float, version: int):
        """Put the live player where a teleport took them: a jump, not a walk."""
        live = self.live
        if live is None or version <= live.version:
            return
        live.lng, live.lat, live.version = lng, lat, version
        live.updated_at = timezone.now()
        self.world.mark_dirty(live)  # for the presence listing; the position is stored already
        live.allowance = SpeedAllowance(self.limits, now=self.world.clock())
        live.anchors = await database_sync_to_async(player_anchors)(player_id=live.player_id)
        area_id = self.world.area_index.area_at(lng, lat)
        if area_id != live.area_id:
            await self._change_area(live, area_id)
        await self._follow_cells(live, cell_of(lng, lat))
        await self.world.cells.publish(
            realtime.cell_group(*live.cell), _moved_event(live, now_ms())
        )

    # Chat and heartbeat -------------------------------------------------------------

    async def on_chat_message(self, data, now):
        message = protocol.text(data, "message", max_length=settings.CHAT_MAX_LENGTH)
        message = _CONTROL_CHARACTERS.sub("", message).strip()
        if not message:
            raise ProtocolError("invalid_data", "`message` is empty.")
        scope = protocol.text(data, "scope", required=False, max_length=10) or "global"
        if scope not in CHAT_SCOPES:
            raise ProtocolError("invalid_data", "`scope` is global, area or private.")
        if not self.chat_bucket.take(now):
            raise ProtocolError("rate_limited", "Too many chat messages; slow down.")
        live = self.live
        event = {
            "type": "chat.message",
            "id": uuid.uuid4().hex,
            "sender_id": live.player_id,
            "sender_name": live.display_name,
            "message": message,
            "scope": scope,
            "timestamp": now_ms(),
        }
        if scope == "global":
            await self._publish(realtime.GLOBAL_CHAT_GROUP, event)
        elif scope == "area":
            if not live.area_id:
                raise ProtocolError("not_in_area", "You are not in an area.")
            await self._publish(realtime.area_group(live.area_id), {**event, "area": live.area_id})
        else:
            target_id = protocol.identifier(data, "targetId")
            if target_id == live.player_id:
                raise ProtocolError("invalid_data", "You cannot message yourself.")
            if (
                not await self.world.presence.is_online(target_id)
                and target_id not in self.world.players
            ):
                raise ProtocolError("recipient_offline", "That player is not online.")
            await self._publish(realtime.player_group(target_id), {**event, "target_id": target_id})
            await self.send(
                frame(
                    "chat-sent",
                    {"id": event["id"], "targetId": target_id, "timestamp": event["timestamp"]},
                )
            )

    async def on_heartbeat(self, data, now):
        await self.send(frame("heartbeat-ack", {"timestamp": now_ms()}))

    HANDLERS = {
        "authenticate": on_authenticate,
        "player-move": on_player_move,
        "get-players": on_get_players,
        "get-flags": on_get_flags,
        "chat-message": on_chat_message,
        "heartbeat": on_heartbeat,
        "place-flag": on_place_flag,
        "harden-flag": on_harden_flag,
        "remove-flag": on_remove_flag,
        "teleport-to-flag": on_teleport_to_flag,
    }

    # Channel-layer events ---------------------------------------------------------

    async def player_moved(self, event):
        if self.live is not None and event["player_id"] != self.live.player_id:
            await self._send_shared(event)

    async def player_disconnected(self, event):
        if self.live is not None and event["player_id"] != self.live.player_id:
            await self.send(frame("player-disconnected", {"playerId": event["player_id"]}))

    async def chat_message(self, event):
        if self.live is None:
            return
        await self.send(
            frame(
                "chat-message",
                {
                    "id": event["id"],
                    "senderId": event["sender_id"],
                    "senderName": event["sender_name"],
                    "message": event["message"],
                    "scope": event["scope"],
                    "timestamp": event["timestamp"],
                },
            )
        )

    async def player_superseded(self, event):
        newer = event["authenticated_at"] > getattr(self, "authenticated_at", 0)
        if event["channel"] != self.channel_name and newer and not self.closing:
            await self.send(
                frame("force-disconnect", {"reason": "You connected from somewhere else."})
            )
            await self.shut(CLOSE_SUPERSEDED)

    async def session_ended(self, event):
        if not self.closing:
            await self.send(
                frame("force-disconnect", {"reason": event.get("reason", "Your session ended.")})
            )
            await self.shut(CLOSE_SESSION_ENDED)

    player_ended = session_ended

    async def flag_placed(self, event):
        if self.live is not None and event["actor_id"] != self.live.player_id:
            await self.send(frame("flag-placed-by-other", {"flag": event["flag"]}))

    async def flag_removed(self, event):
        if self.live is not None and event["actor_id"] != self.live.player_id:
            await self.send(frame("flag-removed", {"flagId": event["flag_id"]}))

    async def player_teleported(self, event):
        """A teleport made over REST (or on another connection) moves this one too."""
        if self.live is not None:
            await self._land(event["lng"], event["lat"], event["version"])

    async def flags_changed(self, event):
        if self.live is not None:
            self.live.anchors = await database_sync_to_async(player_anchors)(
                player_id=self.live.player_id
            )

    async def send(self, text_data=None, bytes_data=None, close=False):
        """
        A text frame goes straight to the transport where the server lets it
        (mmo/servers/backlog.py): the answer to a move is the one frame of
        the move path that every move sends.
        """
        write_frame = self.scope.get(WRITE_FRAME)
        if write_frame is not None and text_data is not None and not close:
            if write_frame(text_frame(text_data)):
                return
        await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def _send_shared(self, event: dict):
        """
        Send the frame of an event that many connections of this process hear
        (the same dict reaches them all): where the server lets frames be
        written directly, its bytes are encoded once, for all of them.
        """
        write_frame = self.scope.get(WRITE_FRAME)
        if write_frame is not None:
            encoded = event.get("encoded_frame")
            if encoded is None:
                encoded = event["encoded_frame"] = text_frame(event["frame"])
            if write_frame(encoded):
                return
        await super().send(event["frame"])  # the ordinary way: not open, or not uvicorn

    # Groups ---------------------------------------------------------------------

    async def _join_group(self, group: str):
        await self.memberships.join(group)

    async def _leave_group(self, group: str):
        await self.memberships.leave(group)

    async def _publish(self, group: str, event: dict):
        """
        Fan-out is best effort: while the channel layer is unreachable the
        event is lost, but the connection and the move it announces stand.
        """
        try:
            await self.channel_layer.group_send(group, event)
        except Exception as error:
            realtime.layer_unreachable("send", group, error)


def _service(error: Exception) -> str:
    return "Redis" if isinstance(error, RedisError) else "database"


def _throttled(service, player, **arguments):
    """A flag action within the player's flag-action budget, which REST shares."""
    throttle = PlayerThrottle(FLAG_ACTIONS, player.pk)
    if not throttle.allow():
        seconds = math.ceil(throttle.wait() or throttle.duration)
        raise flag_services.FlagActionRefused(
            "rate_limited", f"Too many flag actions; try again in {seconds} s."
        )
    return service(player=player, **arguments)


def _moved_event(live: LivePlayer, timestamp: int, sent_at: float | None = None) -> dict:
    """The event of a move, with its frame encoded once for every player who hears it."""
    data = {
        "playerId": live.player_id,
        "username": live.username,
        "displayName": live.display_name,
        "position": lat_lng(live.lng, live.lat),
        "direction": live.direction,
        "timestamp": timestamp,
    }
    if sent_at is not None:
        data["sentAt"] = sent_at
    return {
        "type": "player.moved",
        "player_id": live.player_id,
        "frame": frame("player-moved", data),
    }


def _matches(entry, area_id, box) -> bool:
    if area_id is not None:
        return entry.area_id == area_id
    min_lng, min_lat, max_lng, max_lat = box
    return min_lng <= entry.lng <= max_lng and min_lat <= entry.lat <= max_lat


def _flags_in_box(box, limit: int) -> list[dict]:
    min_lng, min_lat, max_lng, max_lat = box
    polygon = bounding_box(min_lng=min_lng, min_lat=min_lat, max_lng=max_lng, max_lat=max_lat)
    flags = FlagRepository.in_box(polygon).order_by("created_at")[:limit]
    return [flag_frame(flag) for flag in flags]


def _bearer_token(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return token.strip()
    return None
