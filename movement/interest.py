"""
Interest cells: who hears what happens in each cell of the map.

A move is heard by the players around it, most of whom are usually connected
to the same process. Those are told directly, without a round trip through
Redis and without one copy of the event per receiving connection. Other
processes hear it through the channel layer: this process's own channel joins
a cell's group while any of its players follows the cell, and drops the events
it published itself.

Every event for a cell carries the cell's group name under "cell", so that the
process can tell which of its players it is for. Moves go to the crowd
(movement/crowd.py), which decides who hears them at full rate.

Events for other processes leave with the process's next batch
(`realtime.Outbox`).
"""

import logging
import uuid

from mmo import realtime
from mmo.socket.registry import registry

logger = logging.getLogger(__name__)

Listener = object  # a connection: the registered event handlers take it as their first argument


class InterestCells:
    def __init__(self, crowd, outbox: realtime.Outbox):
        self.crowd = crowd
        self.outbox = outbox
        self.origin = uuid.uuid4().hex
        self.listeners: dict[str, set[Listener]] = {}
        self.layer = None
        self.channel: str | None = None
        self.memberships: realtime.Memberships | None = None

    # The process's channel ---------------------------------------------------------

    async def attach(self, layer, channel: str) -> None:
        """Hear other processes on `channel`, in every cell a player here follows."""
        self.layer, self.channel = layer, channel
        self.memberships = realtime.Memberships(layer, channel)
        for group in list(self.listeners):
            await self._join(group)

    def detach(self) -> None:
        self.channel = None
        if self.memberships is not None:
            self.memberships.stop()
            self.memberships = None

    async def _join(self, group: str) -> None:
        # Without a channel, joined when one is attached again; a group the
        # layer refuses (Redis away) is joined again until it takes it.
        if self.memberships is not None:
            await self.memberships.join(group)

    async def _leave(self, group: str) -> None:
        if self.memberships is not None:
            await self.memberships.leave(group)

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
            self.crowd.cell_dropped(group)
            await self._leave(group)

    # Events ------------------------------------------------------------------------

    async def publish(self, group: str, event: dict) -> None:
        """Tell this process's listeners of `group` at once, and other processes soon after."""
        event = {**event, "cell": group, "origin": self.origin}
        # A copy: listeners may add to it (the frame encoded for them) what other processes need not get.
        await self.deliver(dict(event))
        self.outbox.send(group, event)

    async def heard(self, event: dict) -> None:
        """An event from the layer: deliver it here unless this process published it."""
        if event.get("origin") != self.origin:
            await self.deliver(event)

    async def deliver(self, event: dict) -> None:
        event_type = event.get("type")
        listeners = self.listeners.get(event.get("cell"), ())
        if event_type == "player.moved":
            try:
                await self.crowd.moved(event, listeners)
            except (KeyError, TypeError, ValueError):
                # From a process of another version, during a rolling deployment.
                logger.warning("ignoring a malformed player.moved event", exc_info=True)
            return
        if event_type == "player.disconnected":
            self.crowd.gone(event["player_id"])
        handler = registry.events.get(event_type)
        if handler is None:
            logger.warning("ignoring a cell event of unknown type %r", event_type)
            return
        # A listener may stop following while an earlier one is being told.
        for listener in list(listeners):
            try:
                await handler(listener, event)
            except OSError:
                # Its socket closed a moment ago: normal when players leave; counted.
                self.crowd.dropped += 1
            except Exception:
                logger.exception("delivering %s failed", event_type)
