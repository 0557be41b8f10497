"""Retention: the purge command deletes messages older than CHAT_RETENTION_DAYS, in batches."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from chat.models import ChatMessage

pytestmark = pytest.mark.django_db


@pytest.mark.smoke
def test_old_messages_are_purged_in_batches(player, rooms, settings):
    settings.CHAT_RETENTION_DAYS = 30
    now = timezone.now()
    ChatMessage.objects.bulk_create(
        [
            ChatMessage(
                room_id="trade", sender=player, text=f"old {n}", created_at=now - timedelta(days=31)
            )
            for n in range(7)
        ]
        + [
            ChatMessage(
                room_id="trade", sender=player, text="recent", created_at=now - timedelta(days=29)
            )
        ]
    )
    out = StringIO()

    call_command("purge_chat_messages", "--batch-size", "3", stdout=out)

    assert list(ChatMessage.objects.values_list("text", flat=True)) == ["recent"]
    assert "Deleted 7 chat messages older than 30 days." in out.getvalue()


def test_days_may_be_given(player, rooms):
    ChatMessage.objects.create(
        room_id="trade",
        sender=player,
        text="hour old",
        created_at=timezone.now() - timedelta(hours=1),
    )

    call_command("purge_chat_messages", "--days", "0.01", stdout=StringIO())

    assert not ChatMessage.objects.exists()
