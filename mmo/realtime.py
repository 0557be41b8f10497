"""
Channel-layer group names, announcing events from synchronous code, and group
memberships that survive Redis going away.

Every group name is built here, so that senders and receivers agree. Events
about data are sent after the transaction that wrote the data commits.
"""

import asyncio
import logging
import math
import time

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


# While Redis is away every channel-layer call fails; one line every ten
# seconds says so without flooding the log.
_LAYER_FAILURE_LOG_INTERVAL = 10.0
_layer_failures = {"count": 0, "logged_at": -math.inf}


def layer_unreachable(action: str, target: str, error: Exception) -> None:
    """Count a channel-layer call that failed; log at most every ten seconds."""
    _layer_failures["count"] += 1
    now = time.monotonic()
    if now - _layer_failures["logged_at"] >= _LAYER_FAILURE_LOG_INTERVAL:
        _layer_failures["logged_at"] = now
        logger.warning(
            "channel layer unreachable (%s %s: %s); %d calls failed so far",
            action,
            target,
            error,
            _layer_failures["count"],
        )


class Memberships:
    """
    The groups one channel belongs to. A group the layer cannot join (Redis
    unreachable) is joined again every few seconds until it can, so that the
    channel hears the group once Redis is back.
    """

    RETRY_FIRST, RETRY_MAX = 0.5, 5.0  # seconds between attempts

    def __init__(self, layer, channel: str):
        self.layer = layer
        self.channel = channel
        self.groups: set[str] = set()
        self.unconfirmed: set[str] = set()  # in `groups`, not yet taken by the layer
        self._retry: asyncio.Task | None = None

    async def join(self, group: str) -> None:
        if group in self.groups:
            return
        self.groups.add(group)
        try:
            await self.layer.group_add(group, self.channel)
        except Exception as error:
            layer_unreachable("join", group, error)
            self.unconfirmed.add(group)
            if self._retry is None:
                self._retry = asyncio.create_task(self._join_again())

    async def leave(self, group: str) -> None:
        if group in self.groups:
            self.groups.discard(group)
            self.unconfirmed.discard(group)
            await self._discard(group)

    async def leave_all(self) -> None:
        self.stop()
        for group in list(self.groups):
            await self.leave(group)

    def stop(self) -> None:
        """Give up joining again (the channel is going away)."""
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None

    async def _join_again(self) -> None:
        delay = self.RETRY_FIRST
        try:
            while self.unconfirmed:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.RETRY_MAX)
                for group in list(self.unconfirmed):
                    if group not in self.unconfirmed:  # left meanwhile
                        continue
                    try:
                        await self.layer.group_add(group, self.channel)
                    except Exception:
                        break  # still unreachable: wait and try again
                    self.unconfirmed.discard(group)
                    if group not in self.groups:  # left while it was being joined
                        await self._discard(group)
        finally:
            self._retry = None

    async def _discard(self, group: str) -> None:
        try:
            await self.layer.group_discard(group, self.channel)
        except Exception as error:
            layer_unreachable("leave", group, error)
