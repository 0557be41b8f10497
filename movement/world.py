"""
The live working set of one server process: the connected players with their
last accepted positions, the in-memory area index, the presence refresh and
the batched flush of positions to the database.

There is one World per event loop (one per process in production; tests run
each in a loop of its own). Nothing here touches the database on a move.
"""

import asyncio
import atexit
import logging
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections, transaction
from redis.exceptions import RedisError

from areas.repositories import AreaRepository
from flags.repositories import FlagRepository
from leaderboards.distance import WalkedDistances
from leaderboards.services import distance_record
from mmo import realtime
from movement.area_index import AreaIndex
from movement.crowd import Crowd
from movement.interest import InterestCells
from movement.presence import Arrivals, LocalPresence, PresenceEntry, RedisPresence
from movement.repositories import PositionRepository, PositionRow
from movement.rules import SpeedAllowance
from movement.territory_index import TerritoryIndex

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class LivePlayer:
    """A connected player's state, owned by their connection's consumer."""

    player_id: str
    username: str
    display_name: str
    session_id: str
    lng: float
    lat: float
    direction: float
    area_id: str | None
    version: int
    updated_at: object  # aware datetime of the last accepted position
    allowance: SpeedAllowance
    anchors: list = field(default_factory=list)  # (lng, lat) of own flags, or the start
    cell: tuple[int, int] | None = None
    territory_id: str | None = None  # the flag whose (other player's) land they stand on

    def row(self) -> PositionRow:
        return PositionRow(
            player_id=self.player_id,
            lng=self.lng,
            lat=self.lat,
            direction=self.direction,
            area_id=self.area_id,
            version=self.version,
            updated_at=self.updated_at,
        )

    def presence(self) -> PresenceEntry:
        return PresenceEntry(
            player_id=self.player_id,
            username=self.username,
            display_name=self.display_name,
            lng=self.lng,
            lat=self.lat,
            direction=self.direction,
            area_id=self.area_id,
        )


class World:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.clock = time.monotonic  # server time for the speed rule
        self.wall_clock = time.time  # for the age of stored positions
        self.players: dict[str, LivePlayer] = {}
        self.area_index = AreaIndex()
        self.territory_index = TerritoryIndex()
        self.crowd = Crowd(clock=lambda: self.clock())
        self.outbox = realtime.Outbox()
        self.cells = InterestCells(self.crowd, self.outbox)
        self.groups = realtime.ConnectionGroups()
        self.presence = self._make_presence()
        self.arrivals = Arrivals(self.presence)
        self._dirty: set[str] = set()
        # Players whose presence entry (position, area) changed since the last refresh.
        self._presence_dirty: set[str] = set()
        # Rows of players who left, or of a failed flush, waiting to be written.
        self._pending: dict[str, PositionRow] = {}
        # Metres walked in accepted moves, written to the leaderboard with the positions.
        self.walked = WalkedDistances()
        self._flush_lock = asyncio.Lock()
        # Database writes run off the event loop, in a thread of their own, so
        # that a slow flush never holds up moves or the request thread.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="position-flush")
        self._tasks: list[asyncio.Task] = []
        self._started = asyncio.Event()
        self._starting = False
        # Set when Redis may have lost presence entries (a failed refresh, a
        # restart): the next refresh writes every player's entry again.
        self._presence_incomplete = False
        self.flushed_rows = 0
        self.flush_failures = 0

    # Start-up ----------------------------------------------------------------

    async def start(self) -> None:
        """Build the area and territory indexes and start the background tasks, once."""
        if self._started.is_set():
            return
        if self._starting:
            await self._started.wait()
            return
        self._starting = True
        try:
            await self.rebuild_area_index()
            await self.rebuild_territory_index()
            self._tasks = [
                self.loop.create_task(self._flush_forever(), name="position-flusher"),
                self.loop.create_task(self._listen(), name="process-listener"),
                self.loop.create_task(
                    self.outbox.send_forever(get_channel_layer()), name="event-publisher"
                ),
                self.loop.create_task(self.crowd.tick_forever(), name="crowd-ticker"),
            ]
        finally:
            self._started.set()

    def _make_presence(self):
        if settings.REDIS_URL:
            from mmo.redis_client import async_client

            return RedisPresence(
                async_client(), prefix=settings.CACHES["default"].get("KEY_PREFIX", "mmo")
            )
        return LocalPresence()

    async def rebuild_area_index(self) -> None:
        areas = await database_sync_to_async(AreaRepository.active)()
        self.area_index = AreaIndex(areas)
        logger.info("area index rebuilt with %d areas", len(self.area_index))

    async def rebuild_territory_index(self) -> None:
        rows = await database_sync_to_async(FlagRepository.territories)()
        self.territory_index = TerritoryIndex(rows)
        logger.info("territory index rebuilt with %d territories", len(self.territory_index))

    async def update_territories(self, flag_ids: list[str]) -> None:
        """Reload the land of these flags (gone, if they hold none now)."""
        rows = await database_sync_to_async(FlagRepository.territories)(flag_ids)
        self.territory_index.update(rows, flag_ids)

    async def _listen(self) -> None:
        """Events for this process rather than one connection: the world's, and the cells'."""
        layer = get_channel_layer()
        # One channel for the process's life: the layer keeps what reaches a
        # channel until it is read, so a channel left behind after a failure
        # would fill with every event of its groups, for good.
        channel = None
        backoff = 1.0
        while True:
            try:
                if channel is None:
                    channel = await layer.new_channel()
                await layer.group_add(realtime.WORLD_GROUP, channel)
                await self.cells.attach(layer, channel)
                await self.groups.attach(layer, channel)
                backoff = 1.0
                while True:
                    await self._hear(await layer.receive(channel))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("process listener failed; retrying in %.0f s", backoff)
                self.cells.detach()
                self.groups.detach()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    async def _hear(self, event: dict) -> None:
        """One event for the process; one that fails is logged, and the next is heard."""
        try:
            if "cell" in event:
                await self.cells.heard(event)
            elif event.get("type") == "areas.changed":
                await self.rebuild_area_index()
            elif event.get("type") == "territories.changed":
                await self.update_territories(event["flag_ids"])
            else:
                self.groups.heard(event)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("handling a %r event failed", event.get("type"))

    # Players -----------------------------------------------------------------

    def seconds_since(self, moment) -> float:
        """How long ago an aware datetime was, never negative."""
        return max(0.0, self.wall_clock() - moment.timestamp())

    def join(self, player: LivePlayer) -> None:
        self.players[player.player_id] = player

    async def leave(self, player: LivePlayer) -> None:
        """Forget a player who disconnected, writing their position first."""
        if self.players.get(player.player_id) is player:
            del self.players[player.player_id]
            self._dirty.discard(player.player_id)
        self._queue(player.row())
        try:
            await self.flush()
        except Exception:
            # The row stays queued; the periodic flush retries it.
            logger.warning("could not write %s's position on leaving", player.player_id)
        self.walked.forget(player.player_id)
        try:
            if player.player_id not in self.players:
                await self.presence.remove(player.player_id)
        except Exception:
            logger.warning("could not remove %s from presence", player.player_id, exc_info=True)

    async def online_players(
        self, *, area_id: str | None = None, box=None, limit: int
    ) -> list[PresenceEntry]:
        """
        Players online in an area or a (min_lng, min_lat, max_lng, max_lat) box,
        on every process: the shared presence, with this process's own players
        as they are now (fresher than what presence last heard of them).
        """
        try:
            if area_id is not None:
                entries = await self.presence.in_area(area_id, limit)
            else:
                entries = await self.presence.in_box(box, limit)
        except RedisError as error:
            # Redis is out of reach: this process's own players are all we know.
            realtime.layer_unreachable("list", "presence", error)
            entries = []
        players = {entry.player_id: entry for entry in entries}
        for live in self.players.values():
            if live.player_id in players or _listed(live, area_id, box):
                players[live.player_id] = live.presence()
        return [entry for entry in players.values() if _listed(entry, area_id, box)][:limit]

    def mark_dirty(self, player: LivePlayer) -> None:
        self._dirty.add(player.player_id)
        self._presence_dirty.add(player.player_id)

    def mark_presence_dirty(self, player: LivePlayer) -> None:
        self._presence_dirty.add(player.player_id)

    def _queue(self, row: PositionRow) -> None:
        queued = self._pending.get(str(row.player_id))
        if queued is None or queued.version < row.version:
            self._pending[str(row.player_id)] = row

    # Persistence -------------------------------------------------------------

    def _take_batch(self) -> list[PositionRow]:
        for player_id in self._dirty:
            player = self.players.get(player_id)
            if player is not None:
                self._queue(player.row())
        self._dirty.clear()
        batch, self._pending = list(self._pending.values()), {}
        return batch

    async def flush(self) -> int:
        """Write every accepted position not yet stored, in one batch."""
        async with self._flush_lock:
            batch, walked = self._take_batch(), self.walked.take()
            if not batch and not walked:
                return 0
            try:
                written, notices = await self.loop.run_in_executor(
                    self._executor, _write_batch, batch, walked
                )
            except Exception:
                # Keep them for the next attempt; versions make a retry harmless.
                for row in batch:
                    self._queue(row)
                self.walked.put_back(walked)
                self.flush_failures += 1
                raise
            self.flushed_rows += len(batch)
            for group, event in notices:
                self.outbox.send(group, realtime.addressed(group, event))
            return written

    async def _flush_forever(self) -> None:
        """
        Flush every MOVEMENT_FLUSH_INTERVAL, counted from when each flush was
        due. Counted from the end of the previous one and of the presence
        refresh after it, the period grew by their time, most under load, and
        a position acknowledged meanwhile waited that much longer for the
        database: a process killed then lost positions acknowledged up to two
        intervals before. After a failure, the next try is counted from now.
        """
        interval = settings.MOVEMENT_FLUSH_INTERVAL
        delay = interval
        due = self.loop.time() + interval
        while True:
            await asyncio.sleep(max(due - self.loop.time(), 0.0))
            try:
                await self.flush()
                delay = interval
                due = max(due + interval, self.loop.time())  # overran: at once, no burst
            except asyncio.CancelledError:
                raise
            except Exception:
                delay = min(max(delay * 2, interval), settings.MOVEMENT_FLUSH_MAX_BACKOFF)
                logger.exception("position flush failed; retrying in %.1f s", delay)
                due = self.loop.time() + delay
            await self._refresh_presence()

    async def _refresh_presence(self) -> None:
        """Send the players who moved; for the others, only that they are still here."""
        changed, self._presence_dirty = self._presence_dirty, set()
        if self._presence_incomplete:
            changed |= set(self.players)
        entries = [self.players[pid].presence() for pid in changed if pid in self.players]
        try:
            complete = await self.presence.refresh(entries, still_here=list(self.players))
        except Exception:
            self._presence_dirty |= changed
            self._presence_incomplete = True
            logger.warning("presence refresh failed", exc_info=True)
        else:
            self._presence_incomplete = not complete

    def flush_at_exit(self) -> None:
        """Last resort at interpreter exit (SIGTERM): write what is still unsaved."""
        batch, walked = self._take_batch(), self.walked.take()
        if batch or walked:
            try:
                _write_batch(batch, walked)
                logger.info("wrote %d positions at exit", len(batch))
            except Exception:
                logger.exception("could not write %d positions at exit", len(batch))

    async def stop(self) -> None:
        """Stop the background tasks, write what is unsaved, and go offline."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # A task cancelled inside the channel layer's clean-up may never
            # finish; stopping must not hang on it.
            await asyncio.wait(self._tasks, timeout=2.0)
        self._tasks = []
        await self.flush()
        for player_id in list(self.players):
            try:
                await self.presence.remove(player_id)
            except Exception:
                logger.warning("could not remove %s from presence", player_id, exc_info=True)


def _listed(entry, area_id: str | None, box) -> bool:
    if area_id is not None:
        return entry.area_id == area_id
    min_lng, min_lat, max_lng, max_lat = box
    return min_lng <= entry.lng <= max_lng and min_lat <= entry.lat <= max_lat


def _write_batch(rows: list[PositionRow], walked: dict[str, int]) -> tuple[int, list]:
    """Store positions and the metres walked in one transaction; returns rows changed and
    the rank events to send."""
    close_old_connections()
    notices = []
    try:
        with transaction.atomic():
            written = PositionRepository.write_batch(rows)
            distance_record(walked=walked, notices=notices)
        return written, notices
    finally:
        close_old_connections()


_worlds: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, World]" = weakref.WeakKeyDictionary()


@atexit.register
def _flush_every_world_at_exit() -> None:
    for world in list(_worlds.values()):
        world.flush_at_exit()


def live_world() -> World:
    """The World of the running event loop."""
    loop = asyncio.get_running_loop()
    world = _worlds.get(loop)
    if world is None:
        world = _worlds[loop] = World(loop)
    return world
