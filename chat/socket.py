"""
Chat on the game's socket: to everyone, to the players of one's area, or to
one player. Messages live only while in flight. docs/protocol.md describes it.
"""

import uuid

from django.conf import settings

from chat import services
from mmo import realtime
from mmo.ratelimit import TokenBucket
from mmo.socket.protocol import ProtocolError, now_ms
from mmo.socket.registry import event, identifier, message, registry, text


@registry.on_authenticated
async def join_global_chat(connection):
    connection.chat_bucket = TokenBucket(
        settings.CHAT_RATE, settings.CHAT_BURST, connection.world.clock()
    )
    await connection.join(realtime.GLOBAL_CHAT_GROUP)


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
    if not connection.chat_bucket.take(now):
        raise ProtocolError("rate_limited", "Too many chat messages; slow down.")
    live = connection.live
    sent = realtime.chat_message(
        message_id=uuid.uuid4().hex,
        sender_id=live.player_id,
        sender_name=live.display_name,
        message=text_,
        scope=scope,
        timestamp=now_ms(),
    )
    if scope == "global":
        await connection.publish(realtime.GLOBAL_CHAT_GROUP, sent)
    elif scope == "area":
        if not live.area_id:
            raise ProtocolError("not_in_area", "You are not in an area.")
        await connection.publish(realtime.area_group(live.area_id), sent)
    else:
        await _send_private(connection, sent, data["targetId"])


async def _send_private(connection, sent: dict, target_id: str | None):
    if target_id is None:
        raise ProtocolError("invalid_data", "`targetId` is required.")
    if target_id == connection.live.player_id:
        raise ProtocolError("invalid_data", "You cannot message yourself.")
    world = connection.world
    if target_id not in world.players and not await world.presence.is_online(target_id):
        raise ProtocolError("recipient_offline", "That player is not online.")
    await connection.publish(realtime.player_group(target_id), sent)
    await connection.send_frame(
        "chat-sent", {"id": sent["id"], "targetId": target_id, "timestamp": sent["timestamp"]}
    )


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
