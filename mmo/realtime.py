"""
Channel-layer group names, and announcing events from synchronous code.

Every group name is built here, so that senders and receivers agree. Events
about data are sent after the transaction that wrote the data commits.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

GLOBAL_CHAT_GROUP = "chat.global"
# Every process's control listener: area changes and other world-wide events.
WORLD_GROUP = "world.control"


def cell_group(row: int, col: int) -> str:
    return f"cell.{row}.{col}"


def area_group(area_id: str) -> str:
    return f"area.{area_id}"


def player_group(player_id) -> str:
    return f"player.{player_id}"


def session_group(session_id) -> str:
    return f"session.{session_id}"


def announce(group: str, event: dict) -> None:
    """Send `event` to `group` once the current transaction commits."""

    def send():
        try:
            async_to_sync(get_channel_layer().group_send)(group, event)
        except Exception:  # the data is committed; a lost announcement must not undo a request
            logger.exception("could not announce %s to %s", event.get("type"), group)

    transaction.on_commit(send)
