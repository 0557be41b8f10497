"""
Interest cells: who hears what happens in each cell of the map.

A move is heard by the players around it, most of whom are usually connected
to the same process. Those are told directly, without a round trip through
Redis and without one copy of the event per receiving connection. Other
processes hear it through the channel layer: this process's own channel joins
a cell's group while any of its players follows the cell, and drops the events
it published itself.

Every event for a cell carries the cell's group name under "cell", so that the
process can tell which of its players it is for.
"""

import logging
import uuid

from channels.consumer import get_handler_name
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

Listener = object  # anything with a handler method per event type, as a consumer has


class InterestCells:
    def __init__(self):
        self.origin = uuid.uuid4().hex
        self.listeners: dict[str, set[Listener]] = {}
        self.layer = None
        self.channel: str | None = None

    # The process's channel ---------------------------------------------------------

    async def attach(self, layer, channel: str) -> None:
        """Hear other processes on `channel`, in every cell a player here follows."""
        self.layer, self.channel = layer, channel
        for group in list(self.listeners):
            await self._join(group)

    def detach(self) -> None:
        self.channel = None

    async def _join(self, group: str) -> None:
        if self.channel is None:
            return  # joined when the channel is attached again
        try:
            await self.layer.group_add(group, self.channel)
        except Exception:
            logger.warning("could not join %s; joined again on reconnection", group, exc_info=True)

    async def _leave(self, group: str) -> None:
        if self.channel is None:
            return
        try:
            await self.layer.group_discard(group, self.channel)
        except Exception:
            logger.warning("could not leave %s", group, exc_info=True)

    # Following cells ---------------------------------------------------------------

    async def follow(self, group: str, listener: Listener) -> None:
        listeners = self.listeners.get(group)
        if listeners is None:
            listeners = self.listeners[group] = set()
            listeners.add(listener)
            await self._join(group)
        else:
            listeners.add(listener)

    async def unfollow(self, group: str, listener: Listener) -> None:
        listeners = self.listeners.get(group)
        if listeners is None or listener not in listeners:
            return
        listeners.discard(listener)
        if not listeners:
            del self.listeners[group]
            await self._leave(group)

    # Events ------------------------------------------------------------------------

    async def publish(self, group: str, event: dict) -> None:
        """Tell this process's listeners of `group` at once, and other processes through the layer."""
        event = {**event, "cell": group, "origin": self.origin}
        await self.deliver(event)
        try:
            await get_channel_layer().group_send(group, event)
        except Exception:
            # Players here have heard it; those of other processes hear the next one.
            logger.warning("could not publish %s to other processes", event["type"], exc_info=True)

    async def heard(self, event: dict) -> None:
        """An event from the layer: deliver it here unless this process published it."""
        if event.get("origin") != self.origin:
            await self.deliver(event)

    async def deliver(self, event: dict) -> None:
        handler_name = get_handler_name(event)
        # A listener may stop following while an earlier one is being told.
        for listener in list(self.listeners.get(event.get("cell"), ())):
            handler = getattr(listener, handler_name, None)
            if handler is None:
                continue
            try:
                await handler(event)
            except Exception:
                logger.exception("delivering %s failed", event["type"])
