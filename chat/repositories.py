"""Data access for chat rooms, their members, their messages and mutes."""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q, QuerySet

from chat.models import ChatMembership, ChatMessage, ChatMute, ChatRoom, RoomKind


@dataclass(frozen=True)
class PendingMessage:
    """A message to store: what the writer batches (chat/writer.py)."""

    room_id: str
    sender_id: str
    text: str
    created_at: datetime


class ChatRoomRepository:
    @staticmethod
    def get(room_id: str) -> ChatRoom | None:
        return ChatRoom.objects.filter(pk=room_id).first()

    @staticmethod
    def exists(room_id: str) -> bool:
        return ChatRoom.objects.filter(pk=room_id).exists()

    @staticmethod
    def create(**fields) -> ChatRoom:
        return ChatRoom.objects.create(**fields)

    @staticmethod
    def get_or_create(room_id: str, **defaults) -> tuple[ChatRoom, bool]:
        try:
            with transaction.atomic():
                return ChatRoom.objects.get_or_create(id=room_id, defaults=defaults)
        except IntegrityError:  # created meanwhile by another process
            return ChatRoom.objects.get(id=room_id), False

    @staticmethod
    def delete(room: ChatRoom) -> None:
        room.delete()

    @staticmethod
    def visible_to(player_id) -> QuerySet[ChatRoom]:
        """Every room but the private conversations of others, with its member count."""
        return (
            ChatRoom.objects.filter(~Q(kind=RoomKind.DIRECT) | Q(memberships__player_id=player_id))
            .distinct()
            .annotate(member_count=Count("memberships", distinct=True))
            .order_by("created_at", "id")
        )

    @staticmethod
    def created_count(player_id) -> int:
        return ChatRoom.objects.filter(
            created_by_id=player_id, kind__in=[RoomKind.PUBLIC, RoomKind.PRIVATE]
        ).count()


class ChatMembershipRepository:
    @staticmethod
    def is_member(room_id: str, player_id) -> bool:
        return ChatMembership.objects.filter(room_id=room_id, player_id=player_id).exists()

    @staticmethod
    def add(room_id: str, player_id) -> bool:
        """Make the player a member; False if they were one already."""
        _, created = ChatMembership.objects.get_or_create(room_id=room_id, player_id=player_id)
        return created

    @staticmethod
    def remove(room_id: str, player_id) -> None:
        ChatMembership.objects.filter(room_id=room_id, player_id=player_id).delete()

    @staticmethod
    def of_room(room_id: str) -> QuerySet[ChatMembership]:
        return (
            ChatMembership.objects.filter(room_id=room_id)
            .select_related("player")
            .order_by("joined_at", "id")
        )


class ChatMessageRepository:
    @staticmethod
    def create_many(rows: list[PendingMessage]) -> list[int]:
        """Insert the messages in one statement; their ids, in order."""
        messages = ChatMessage.objects.bulk_create(
            [
                ChatMessage(
                    room_id=row.room_id,
                    sender_id=row.sender_id,
                    text=row.text,
                    created_at=row.created_at,
                )
                for row in rows
            ]
        )
        return [message.pk for message in messages]

    @staticmethod
    def history(room_id: str, *, before: int | None = None, limit: int) -> list[ChatMessage]:
        """The `limit` messages of the room before the id `before` (or the latest), oldest first."""
        queryset = ChatMessage.objects.filter(room_id=room_id)
        if before is not None:
            queryset = queryset.filter(id__lt=before)
        latest = queryset.select_related("sender").order_by("-id")[:limit]
        return list(reversed(latest))

    @staticmethod
    def get(message_id: int) -> ChatMessage | None:
        return ChatMessage.objects.filter(pk=message_id).first()

    @staticmethod
    def delete(message_ids) -> list[tuple[int, str]]:
        """Delete these messages; (id, room id) of those that were there."""
        found = list(
            ChatMessage.objects.select_for_update()
            .filter(pk__in=list(message_ids))
            .values_list("pk", "room_id")
        )
        ChatMessage.objects.filter(pk__in=[pk for pk, _ in found]).delete()
        return found

    @staticmethod
    def delete_older_than(horizon: datetime, *, batch_size: int) -> int:
        """
        Delete up to `batch_size` of the oldest messages created before
        `horizon`. A raw DELETE: the ORM's would load every message and send a
        signal (a `message-deleted` event) for each.
        """
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM chat_messages WHERE id IN ("
                " SELECT id FROM chat_messages WHERE created_at < %s ORDER BY created_at LIMIT %s)",
                [horizon, batch_size],
            )
            return cursor.rowcount


class ChatMuteRepository:
    @staticmethod
    def muted_until(player_id, *, now: datetime) -> datetime | None:
        """When the player's longest running mute ends; None if they are not muted."""
        mute = (
            ChatMute.objects.filter(player_id=player_id, until__gt=now)
            .order_by("-until")
            .values_list("until", flat=True)
            .first()
        )
        return mute

    @staticmethod
    def create(**fields) -> ChatMute:
        return ChatMute.objects.create(**fields)
