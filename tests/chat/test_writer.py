"""Group commit: messages stored while an insert runs go in the next one, each with its id."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.db import IntegrityError
from django.utils import timezone

from chat.models import ChatMessage
from chat.repositories import PendingMessage
from chat.writer import MessageWriter
from tests.factories import PlayerFactory

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def row(sender, text, room_id="trade"):
    return PendingMessage(room_id, str(sender.pk), text, timezone.now())


@pytest.mark.smoke
async def test_concurrent_messages_share_inserts_and_keep_their_order(rooms):
    sender = await database_sync_to_async(PlayerFactory)()
    writer = MessageWriter(asyncio.get_running_loop())

    ids = await asyncio.gather(*(writer.write(row(sender, f"m{n}")) for n in range(200)))

    assert ids == sorted(ids) and len(set(ids)) == 200
    assert writer.batches < 200
    stored = await database_sync_to_async(
        lambda: list(ChatMessage.objects.order_by("id").values_list("text", flat=True))
    )()
    assert stored == [f"m{n}" for n in range(200)]


async def test_a_message_to_a_missing_room_fails_alone(rooms):
    sender = await database_sync_to_async(PlayerFactory)()
    writer = MessageWriter(asyncio.get_running_loop())

    results = await asyncio.gather(
        writer.write(row(sender, "fine")),
        writer.write(row(sender, "lost", room_id="nowhere")),
        writer.write(row(sender, "fine too")),
        return_exceptions=True,
    )

    assert isinstance(results[1], IntegrityError)
    assert all(isinstance(result, int) for result in (results[0], results[2]))
