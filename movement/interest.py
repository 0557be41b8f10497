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
(`realtime.Outbox`). A cell's moves are published only while another process
listens to the cell: the process hears its own publications back from Redis
too, and publishing each move and dropping it again was most of what a move
cost where nobody else heard it. Redis answers each publication with how many
subscribers it reached; where that was this process alone, the cell's moves
stay here for UNHEARD_FOR_S, and a process that starts listening to a cell
says so on it (`cell.listening`), which ends that at once.
"""

import logging
import time
import uuid

from mmo import realtime
from mmo.socket.registry import registry

logger = logging.getLogger(__name__)

# How long a cell's moves stay in this process once a publication reached no
# other: past it, the next move is published again and the count taken anew
# (a `cell.listening` lost while Redis was away is made up for by then).
UNHEARD_FOR_S = 2.0
LISTENING = "cell.listening"

Listener = object  # a connection: the registered event handlers take it as their first argument


class InterestCells:
    def __init__(self, crowd, outbox: realtime.Outbox):
        self.crowd = crowd
        self.outbox = outbox
        outbox.on_published = self.published
        self.origin = uuid.uuid4().hex
        self.listeners: dict[str, set[Listener]] = {}
        self.layer = None
        self.channel: str | None = None
        self.memberships: realtime.Memberships | None = None
        # Cell → until when its moves are not published: nobody else listened.
        self.unheard: dict[str, float] = {}

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
            # Processes that kept this cell's moves to themselves publish them again.
            self.outbox.send(group, {"type": LISTENING, "cell": group, "origin": self.origin})

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
            self.unheard.pop(group, None)
            self.crowd.cell_dropped(group)
            await self._leave(group)

    # Events ------------------------------------------------------------------------

    async def publish(self, group: str, event: dict) -> None:
        """Tell this process's listeners of `group` at once, and other processes soon after."""
        event = {**event, "cell": group, "origin": self.origin}
        # A copy: listeners may add to it (the frame encoded for them) what other processes need not get.
        await self.deliver(dict(event))
        if event["type"] == "player.moved":
            until = self.unheard.get(group)
            if until is not None:
                if until > time.monotonic():
                    return  # no other process listens to this cell
                del self.unheard[group]
        self.outbox.send(group, event)

    def published(self, batch, subscribers) -> None:
        """
        How many subscribers each event of a batch the outbox sent reached:
        a move that reached none but this process's own subscription (or none)
        keeps its cell's next moves here. Only a subscription the layer took is
        counted as this process's: one still being made may be another's.
        """
        joined = self.memberships.joined if self.memberships is not None else ()
        for (group, event), count in zip(batch, subscribers, strict=True):
            if event.get("type") != "player.moved" or count is None:
                continue
            if count <= 1 and group in joined:
                self.unheard[group] = time.monotonic() + UNHEARD_FOR_S
            else:
                self.unheard.pop(group, None)

    async def heard(self, event: dict) -> None:
        """An event from the layer: deliver it here unless this process published it."""
        if event.get("origin") == self.origin:
            return
        if event.get("type") == LISTENING:
            self.unheard.pop(event.get("cell"), None)
            return
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
