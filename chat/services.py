"""
The chat rules: what a message may hold and where it may go; who may create,
join, read and delete a room; muting.
"""

import re
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from areas.repositories import AreaRepository
from chat.models import ROOM_ID_MAX_LENGTH, ChatRoom, RoomKind
from chat.repositories import (
    ChatMembershipRepository,
    ChatMessageRepository,
    ChatMuteRepository,
    ChatRoomRepository,
)
from mmo import realtime
from mmo.socket.protocol import ProtocolError

CHAT_SCOPES = ("global", "area", "private")
GLOBAL_ROOM_ID = "global"
AREA_ROOM_PREFIX = "area-"
DIRECT_ROOM_PREFIX = "dm-"
# What a client may call the room of the area it stands in (the original client's "Local").
LOCAL_ROOM_ALIAS = "local"
ROOM_ID_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,78}[a-z0-9])?$")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class ChatRefused(Exception):
    """A chat rule refused: `code` for programs, `reason` for people."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


# Messages ---------------------------------------------------------------------------------


def chat_text_clean(message: str) -> str:
    """The message as others see it: no control characters, no surrounding blanks; never empty."""
    cleaned = _CONTROL_CHARACTERS.sub("", message).strip()
    if not cleaned:
        raise ProtocolError("invalid_data", "`message` is empty.")
    return cleaned


def chat_scope_check(scope: str) -> str:
    if scope not in CHAT_SCOPES:
        raise ProtocolError("invalid_data", "`scope` is global, area or private.")
    return scope


def message_text_check(message: str) -> str:
    """A room message as stored and heard, or ChatRefused (`too_long`, `empty`)."""
    if len(message) > settings.CHAT_MAX_LENGTH:
        raise ChatRefused(
            "too_long", f"Messages are limited to {settings.CHAT_MAX_LENGTH} characters."
        )
    cleaned = _CONTROL_CHARACTERS.sub("", message).strip()
    if not cleaned:
        raise ChatRefused("empty", "The message is empty.")
    return cleaned


def message_frame(message) -> dict:
    """A stored message as rooms' frames and the API carry it."""
    return {
        "id": message.pk,
        "senderId": str(message.sender_id),
        "username": message.sender.username,
        "message": message.text,
        "timestamp": int(message.created_at.timestamp() * 1000),
    }


# Rooms --------------------------------------------------------------------------------------


def room_id_of_area(area_id: str) -> str:
    return f"{AREA_ROOM_PREFIX}{area_id}"


def room_id_of_pair(player_id, other_id) -> str:
    first, second = sorted((str(player_id), str(other_id)))
    return f"{DIRECT_ROOM_PREFIX}{first}-{second}"


def room_can_read(*, player, room: ChatRoom) -> bool:
    """Public and area rooms are open to every player; private rooms to their members only."""
    if room.kind in (RoomKind.PUBLIC, RoomKind.AREA):
        return True
    return ChatMembershipRepository.is_member(room.pk, player.pk)


def room_get(*, player, room_id: str) -> ChatRoom:
    """The room as this player may see it; a conversation of others does not exist for them."""
    room = _room_or_area_room(room_id)
    if room is None or (
        room.kind == RoomKind.DIRECT and not ChatMembershipRepository.is_member(room.pk, player.pk)
    ):
        raise ChatRefused("not_found", "No room with this id.")
    return room


def _room_or_area_room(room_id: str) -> ChatRoom | None:
    """The room; the global room and an area's are created the first time someone asks for them."""
    room = ChatRoomRepository.get(room_id)
    if room is None and room_id == GLOBAL_ROOM_ID:
        room = room_ensure_global()
    elif room is None and room_id.startswith(AREA_ROOM_PREFIX):
        room = room_ensure_area(area_id=room_id.removeprefix(AREA_ROOM_PREFIX))
    return room


def room_ensure_area(*, area_id: str) -> ChatRoom | None:
    """The local chat of an active area (None if there is no such area)."""
    area = next((a for a in AreaRepository.active() if a.pk == area_id), None)
    if area is None:
        return None
    room, _ = ChatRoomRepository.get_or_create(
        room_id_of_area(area_id), name=area.name, kind=RoomKind.AREA, area_id=area_id
    )
    return room


def room_ensure_global() -> ChatRoom:
    room, _ = ChatRoomRepository.get_or_create(GLOBAL_ROOM_ID, name="Global", kind=RoomKind.PUBLIC)
    return room


@transaction.atomic
def room_ensure_direct(*, player_id, other_id) -> ChatRoom:
    """The private conversation of two players: a room of two members."""
    room, created = ChatRoomRepository.get_or_create(
        room_id_of_pair(player_id, other_id), name="Private conversation", kind=RoomKind.DIRECT
    )
    if created:
        ChatMembershipRepository.add(room.pk, player_id)
        ChatMembershipRepository.add(room.pk, other_id)
    return room


@transaction.atomic
def room_create(
    *, player, name: str, room_id: str | None = None, password: str | None = None
) -> ChatRoom:
    """
    A room the player creates (and joins): public, or private when it has a
    password. Players create at most CHAT_ROOMS_PER_PLAYER; staff any number.
    """
    if not player.is_staff and (
        ChatRoomRepository.created_count(player.pk) >= settings.CHAT_ROOMS_PER_PLAYER
    ):
        raise ChatRefused(
            "room_limit", f"You may create at most {settings.CHAT_ROOMS_PER_PLAYER} rooms."
        )
    if room_id is None:
        base = slugify(name)[: ROOM_ID_MAX_LENGTH - 7].strip("-_") or "room"
        room_id = f"{base}-{secrets.token_hex(3)}"
    elif not ROOM_ID_PATTERN.match(room_id):
        raise ChatRefused(
            "invalid_id",
            "A room id is 1–80 of a–z, 0–9, - and _, starting and ending alphanumeric.",
        )
    if room_id.startswith((AREA_ROOM_PREFIX, DIRECT_ROOM_PREFIX)) or room_id == LOCAL_ROOM_ALIAS:
        raise ChatRefused("invalid_id", "Room ids starting area- or dm-, and local, are reserved.")
    if ChatRoomRepository.exists(room_id):
        raise ChatRefused("id_taken", "A room with this id exists.")
    room = ChatRoomRepository.create(
        id=room_id,
        name=name,
        kind=RoomKind.PRIVATE if password else RoomKind.PUBLIC,
        password=make_password(password) if password else "",
        created_by=player,
    )
    ChatMembershipRepository.add(room.pk, player.pk)
    return room


def room_delete(*, player, room_id: str) -> None:
    """Players delete the rooms they created; staff any but a conversation or an area's room."""
    room = room_get(player=player, room_id=room_id)
    if not (player.is_staff or room.created_by_id == player.pk) or room.kind in (
        RoomKind.DIRECT,
        RoomKind.AREA,
    ):
        raise ChatRefused("forbidden", "You may delete only rooms you created.")
    ChatRoomRepository.delete(room)  # the receiver tells the sockets that joined it


def room_join(*, player, room_id: str, password: str | None = None) -> tuple[ChatRoom, bool]:
    """
    Make the player a member: a private room asks for its password the first
    time, a conversation admits only its two players. (room, newly a member).
    """
    room = room_get(player=player, room_id=room_id)
    if room.kind == RoomKind.DIRECT:
        return room, False
    if room.kind == RoomKind.PRIVATE and not ChatMembershipRepository.is_member(room.pk, player.pk):
        if not password:
            raise ChatRefused("password_required", "This room is private: give its password.")
        if not check_password(password, room.password):
            raise ChatRefused("wrong_password", "Wrong password.")
    return room, ChatMembershipRepository.add(room.pk, player.pk)


def room_leave(*, player, room_id: str) -> None:
    """Leave a room (a private one then asks for its password again); a conversation stays."""
    room = ChatRoomRepository.get(room_id)
    if room is not None and room.kind != RoomKind.DIRECT:
        ChatMembershipRepository.remove(room.pk, player.pk)


def room_history(*, player, room_id: str, before: int | None = None, limit: int) -> list:
    """The messages before `before` (or the latest), oldest first; members only for private rooms."""
    room = room_get(player=player, room_id=room_id)
    if not room_can_read(player=player, room=room):
        raise ChatRefused("not_member", "Only members read this room.")
    return ChatMessageRepository.history(room.pk, before=before, limit=limit)


def room_members(*, player, room_id: str):
    room = room_get(player=player, room_id=room_id)
    if not room_can_read(player=player, room=room):
        raise ChatRefused("not_member", "Only members see who is in this room.")
    return ChatMembershipRepository.of_room(room.pk)


def room_join_with_history(*, player, room_id: str, password: str | None = None):
    """What `join-room` does: join, then the last CHAT_HISTORY_LENGTH messages as frames."""
    room, _ = room_join(player=player, room_id=room_id, password=password)
    history = ChatMessageRepository.history(room.pk, limit=settings.CHAT_HISTORY_LENGTH)
    return room, [message_frame(message) for message in history]


def room_resolve_alias(room_id: str, *, area_id: str | None) -> str:
    """`local` is the room of the area the player stands in."""
    if room_id != LOCAL_ROOM_ALIAS:
        return room_id
    if not area_id:
        raise ChatRefused("not_in_area", "You are not in an area.")
    return room_id_of_area(area_id)


# Moderation ---------------------------------------------------------------------------------


def chat_muted_until(*, player_id) -> float | None:
    """When the player's mute ends (a Unix time), or None."""
    until = ChatMuteRepository.muted_until(player_id, now=timezone.now())
    return until.timestamp() if until is not None else None


def chat_mute(*, player, minutes: float, reason: str = "", muted_by=None):
    """Silence a player in every room for `minutes` (the receiver tells their sockets)."""
    return ChatMuteRepository.create(
        player=player,
        until=timezone.now() + timedelta(minutes=minutes),
        reason=reason,
        muted_by=muted_by,
    )


@transaction.atomic
def messages_delete(*, message_ids) -> int:
    """Staff delete messages: gone from the history, and from the screens of members online."""
    deleted = ChatMessageRepository.delete(message_ids)
    for message_id, room_id in deleted:
        realtime.emit(
            realtime.room_group(room_id),
            realtime.room_message_deleted(room_id=room_id, message_id=message_id),
        )
    return len(deleted)


def messages_purge(*, older_than: datetime, batch_size: int = 5000) -> int:
    """Delete messages created before `older_than`, a batch per transaction; how many."""
    deleted = 0
    while True:
        with transaction.atomic():
            count = ChatMessageRepository.delete_older_than(older_than, batch_size=batch_size)
        deleted += count
        if count < batch_size:
            return deleted
