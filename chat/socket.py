"""
Chat on the game's socket, stored in the database (docs/protocol.md, "Chat").

Rooms, with the original client's names (its ChatService): `join-room`,
`leave-room`, `send-message`, answered by `room-history`, `user-joined`,
`user-left`, `receive-message`, `message-deleted` and, for every refusal,
`room-error {roomId, error, code}`. A socket hears a room once it joined it.

The older scopes stay: `chat-message` to everyone, to the players of one's
area, or to one player, heard as `chat-message`. Those messages are stored
too: in the global room, in the area's room, in the two players' room.

A message is stored first (chat/writer.py) and then heard; its sender's
`receive-message` (or `chat-sent`) is the acknowledgement that it is stored.
"""

import time

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from chat import services
from chat.repositories import PendingMessage
from chat.services import ChatRefused
from chat.writer import message_writer
from mmo import realtime
from mmo.ratelimit import TokenBucket
from mmo.socket.protocol import ProtocolError
from mmo.socket.registry import event, identifier, message, registry, text

# Room messages are read as long as a frame allows, so that one too long is
# refused as a room's refusal (`too_long`), naming the room.
ROOM_MESSAGE_READ_LENGTH = 1_000_000


@registry.on_authenticated(reads=services.chat_muted_until)
async def join_global_chat(connection, muted_until: float | None):
    connection.chat_bucket = TokenBucket(
        settings.CHAT_RATE, settings.CHAT_BURST, connection.world.clock()
    )
    connection.chat_rooms = set()
    connection.chat_muted_until = muted_until
    await connection.join(realtime.GLOBAL_CHAT_GROUP)


def _muted(connection) -> bool:
    until = connection.chat_muted_until
    return until is not None and time.time() < until


async def _store(connection, room_id: str, text_: str):
    """Store a message: (id, created_at); a database failure surfaces as a refusal."""
    created_at = timezone.now()
    row = PendingMessage(room_id, connection.live.player_id, text_, created_at)
    try:
        message_id = await message_writer().write(row)
    except DatabaseError as error:
        raise ChatRefused(
            "unavailable", "The message could not be stored; send it again shortly."
        ) from error
    return message_id, int(created_at.timestamp() * 1000)


async def _ensure_room(ensure, room_id: str, **arguments) -> None:
    """Create a room of the game (global, an area's, a pair's) the first time this process uses it."""
    writer = message_writer()
    if room_id not in writer.known_rooms:
        room = await database_sync_to_async(ensure)(**arguments)
        if room is None:
            raise ChatRefused("not_found", "No room with this id.")
        writer.known_rooms.add(room_id)


# Rooms ----------------------------------------------------------------------------------------


async def _room_error(connection, room_id, refused: ChatRefused):
    await connection.send_frame(
        "room-error", {"roomId": room_id, "error": refused.reason, "code": refused.code}
    )


@message("join-room", schema={"roomId": text(max_length=100), "password": text(required=False)})
async def join_room(connection, data, now):
    room_id = data["roomId"]
    try:
        room_id = services.room_resolve_alias(room_id, area_id=connection.live.area_id)
        if room_id not in connection.chat_rooms:
            if len(connection.chat_rooms) >= settings.CHAT_ROOMS_PER_CONNECTION:
                raise ChatRefused(
                    "too_many_rooms",
                    f"One connection joins at most {settings.CHAT_ROOMS_PER_CONNECTION} rooms.",
                )
        room, history = await database_sync_to_async(services.room_join_with_history)(
            player=connection.player, room_id=room_id, password=data["password"]
        )
    except ChatRefused as refused:
        if refused.code == "wrong_password":
            # Guessing costs chat tokens: a guess per second, after a small burst.
            connection.chat_bucket.take(now)
        await _room_error(connection, data["roomId"], refused)
        return
    live = connection.live
    if room.pk not in connection.chat_rooms:
        connection.chat_rooms.add(room.pk)
        await connection.join(realtime.room_group(room.pk))
        connection.publish(
            realtime.room_group(room.pk),
            realtime.room_member_joined(
                room_id=room.pk,
                player_id=live.player_id,
                username=live.username,
                channel=connection.channel_name,
            ),
        )
    await connection.send_frame(
        "room-history",
        {"roomId": room.pk, "name": room.name, "type": room.kind, "messages": history},
    )


@message("leave-room", schema={"roomId": text(max_length=100)})
async def leave_room(connection, data, now):
    room_id = data["roomId"]
    if room_id == services.LOCAL_ROOM_ALIAS and connection.live.area_id:
        room_id = services.room_id_of_area(connection.live.area_id)
    if room_id not in connection.chat_rooms:
        await _room_error(
            connection, data["roomId"], ChatRefused("not_member", "You are not in this room.")
        )
        return
    await _leave(connection, room_id)
    await database_sync_to_async(services.room_leave)(player=connection.player, room_id=room_id)
    await connection.send_frame("room-left", {"roomId": room_id})


async def _leave(connection, room_id: str) -> None:
    connection.chat_rooms.discard(room_id)
    await connection.leave(realtime.room_group(room_id))
    player = connection.player  # still set while the socket closes, unlike `live`
    connection.publish(
        realtime.room_group(room_id),
        realtime.room_member_left(
            room_id=room_id,
            player_id=str(player.pk),
            username=player.username,
            channel=connection.channel_name,
        ),
    )


@registry.on_leaving
async def leave_rooms(connection):
    for room_id in list(getattr(connection, "chat_rooms", ())):
        await _leave(connection, room_id)


@message(
    "send-message",
    schema={"roomId": text(max_length=100), "message": text(max_length=ROOM_MESSAGE_READ_LENGTH)},
)
async def send_message(connection, data, now):
    room_id = data["roomId"]
    try:
        if room_id == services.LOCAL_ROOM_ALIAS and connection.live.area_id:
            room_id = services.room_id_of_area(connection.live.area_id)
        if room_id not in connection.chat_rooms:
            raise ChatRefused("not_member", "Join the room first.")
        if _muted(connection):
            raise ChatRefused("muted", "You are muted.")
        text_ = services.message_text_check(data["message"])
        if not connection.chat_bucket.take(now):
            raise ChatRefused("rate_limited", "Too many chat messages; slow down.")
        message_id, timestamp = await _store(connection, room_id, text_)
    except ChatRefused as refused:
        await _room_error(connection, data["roomId"], refused)
        return
    live = connection.live
    heard = realtime.room_message(
        room_id=room_id,
        message_id=message_id,
        sender_id=live.player_id,
        username=live.username,
        message=text_,
        timestamp=timestamp,
        channel=connection.channel_name,
    )
    await connection.send_frame("receive-message", _receive_message_frame(heard))
    connection.publish(realtime.room_group(room_id), heard)


def _receive_message_frame(event) -> dict:
    return {
        "roomId": event["room_id"],
        "id": event["id"],
        "senderId": event["sender_id"],
        "username": event["username"],
        "message": event["message"],
        "timestamp": event["timestamp"],
    }


@event("room.message")
async def on_room_message(connection, event):
    # The sender had its frame as the acknowledgement.
    if event["channel"] != connection.channel_name and event["room_id"] in _rooms(connection):
        await connection.send_frame("receive-message", _receive_message_frame(event))


# What a room's other members are told when someone joins or leaves it.
MEMBERSHIP_FRAMES = {"room.joined": "user-joined", "room.left": "user-left"}


@event("room.joined")
@event("room.left")
async def on_room_membership(connection, event):
    if event["channel"] != connection.channel_name and event["room_id"] in _rooms(connection):
        await connection.send_frame(
            MEMBERSHIP_FRAMES[event["type"]],
            {
                "roomId": event["room_id"],
                "playerId": event["player_id"],
                "username": event["username"],
            },
        )


@event("room.message_deleted")
async def on_message_deleted(connection, event):
    if event["room_id"] in _rooms(connection):
        await connection.send_frame(
            "message-deleted", {"roomId": event["room_id"], "id": event["id"]}
        )


@event("room.deleted")
async def on_room_deleted(connection, event):
    if event["room_id"] in _rooms(connection):
        connection.chat_rooms.discard(event["room_id"])
        await connection.leave(realtime.room_group(event["room_id"]))
        await _room_error(
            connection, event["room_id"], ChatRefused("room_deleted", "This room was deleted.")
        )


@event("chat.muted")
async def on_muted(connection, event):
    if connection.live is not None:
        connection.chat_muted_until = event["until"]


def _rooms(connection) -> set:
    if connection.live is None:
        return set()
    return connection.chat_rooms


# The older scopes ------------------------------------------------------------------------------


@message(
    "chat-message",
    schema={
        "message": text(max_length=settings.CHAT_MAX_LENGTH),
        "scope": text(required=False, max_length=10),
        "targetId": identifier(required=False),
    },
)
async def chat_message(connection, data, now):
    text_ = services.chat_text_clean(data["message"])
    scope = services.chat_scope_check(data["scope"] or "global")
    if _muted(connection):
        raise ProtocolError("muted", "You are muted.")
    if not connection.chat_bucket.take(now):
        raise ProtocolError("rate_limited", "Too many chat messages; slow down.")
    live = connection.live
    try:
        if scope == "global":
            room_id, group = services.GLOBAL_ROOM_ID, realtime.GLOBAL_CHAT_GROUP
            await _ensure_room(services.room_ensure_global, room_id)
        elif scope == "area":
            if not live.area_id:
                raise ProtocolError("not_in_area", "You are not in an area.")
            room_id, group = (
                services.room_id_of_area(live.area_id),
                realtime.area_group(live.area_id),
            )
            await _ensure_room(services.room_ensure_area, room_id, area_id=live.area_id)
        else:
            target_id = await _private_target(connection, data["targetId"])
            room_id, group = services.room_id_of_pair(live.player_id, target_id), None
            await _ensure_room(
                services.room_ensure_direct, room_id, player_id=live.player_id, other_id=target_id
            )
        message_id, timestamp = await _store(connection, room_id, text_)
    except ChatRefused as refused:
        raise ProtocolError(refused.code, refused.reason) from refused
    sent = realtime.chat_message(
        message_id=str(message_id),
        sender_id=live.player_id,
        sender_name=live.display_name,
        message=text_,
        scope=scope,
        timestamp=timestamp,
    )
    if group is not None:
        connection.publish(group, sent)
    else:
        connection.publish(realtime.player_group(target_id), sent)
        await connection.send_frame(
            "chat-sent", {"id": sent["id"], "targetId": target_id, "timestamp": timestamp}
        )
    # Sockets that joined the room hear it as a room message.
    connection.publish(
        realtime.room_group(room_id),
        realtime.room_message(
            room_id=room_id,
            message_id=message_id,
            sender_id=live.player_id,
            username=live.username,
            message=text_,
            timestamp=timestamp,
        ),
    )


async def _private_target(connection, target_id: str | None) -> str:
    if target_id is None:
        raise ProtocolError("invalid_data", "`targetId` is required.")
    if target_id == connection.live.player_id:
        raise ProtocolError("invalid_data", "You cannot message yourself.")
    world = connection.world
    if target_id not in world.players and not await world.presence.is_online(target_id):
        raise ProtocolError("recipient_offline", "That player is not online.")
    return target_id


@event("chat.message")
async def on_chat_message(connection, event):
    if connection.live is None:
        return
    await connection.send_frame(
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
