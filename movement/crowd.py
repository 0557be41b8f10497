"""
Crowds: who hears a move at full rate, and who hears it less often.

Every new player starts at a start hub, so hundreds of players in one square
is the normal case, and a move heard by every player of the cells around it
costs deliveries in the square of the crowd. Each connection therefore hears
at most WEBSOCKET_VISIBLE_PLAYERS players at full rate: the nearest. The rest
of its cells it hears at WEBSOCKET_FAR_UPDATES moves per second, taken in turn
(round-robin) from those who moved, so what it receives stays bounded however
large the crowd. Where no more players are around than it may hear, a
connection hears every move at once, as it always did.

The work per move is proportional to the deliveries it makes, not to the
crowd: each connection's nearest players are recomputed about once a second
(NEAREST_REFRESH_S, one matrix of distances per cell with numpy, shapely's
own dependency) and kept in a reverse index, mover → connections hearing them
at full rate, which is all a move looks at. Between two refreshes a mover
arriving in a cell is added at once to the connections there that have room.
A player heard at full rate keeps its place while it stays within
KEEP_NEAR_FACTOR of the distance of the budget's farthest: players walk across
that edge all the time, and without the margin a neighbour at the edge would
come and go at every refresh, heard at full rate one second and not the next.

A far move is one that happened since the previous tick, so that what a
connection hears of the far crowd is as fresh as what it hears of its
neighbours; far players who stood still are not sent again.

Connections that asked for it in `authenticate` (`batchMoves`) get one
`players-moved` frame per tick with the latest move of each player they hear
that moved in the tick; the others get a `player-moved` frame per move of their
nearest players as it happens, and the far ones at the tick. The tick comes
every WEBSOCKET_TICK_MS while the process has few batched connections, and less
often as they grow, so that it writes at most WEBSOCKET_TICK_FRAMES frames a
second (each a write to a socket), up to WEBSOCKET_TICK_MAX_MS apart.
Each move's entry of a batched frame is encoded once, by the mover's process;
the frame of the same moves for several connections is encoded once and its
bytes shared.
"""

import asyncio
import logging
import random
import time

import numpy as np
from django.conf import settings

from mmo import realtime

logger = logging.getLogger(__name__)

NEAREST_REFRESH_S = 1.0
# A player heard at full rate stays so while no farther than this many times
# the distance of the budget's farthest player.
KEEP_NEAR_FACTOR = 1.25
# A tick gives way to the event loop (moves, their answers) after this much of its work.
TICK_SLICE_S = 0.004
# A mover not heard of for this long is forgotten until it moves again.
MOVER_TTL_S = 30.0
# How often deliveries dropped because their socket had closed are logged.
DROPPED_LOG_INTERVAL_S = 60.0


_NOBODY: frozenset[str] = frozenset()
_NOTHING_PENDING: dict[str, None] = {}  # never written: only batched viewers add to theirs


class Mover:
    """The latest move heard of a player in a followed cell."""

    __slots__ = ("player_id", "group", "row", "col", "lng", "lat", "event", "moved_at")

    def __init__(self, player_id: str, group: str):
        self.player_id = player_id
        self.group = group
        _, row, col = group.split(".")
        self.row, self.col = int(row), int(col)

    def heard_in(self, cell: tuple[int, int]) -> bool:
        """Whether a viewer in `cell` hears this mover's cell (its own or one of the eight around)."""
        return abs(self.row - cell[0]) <= 1 and abs(self.col - cell[1]) <= 1


class Viewer:
    """A connection of this process in the world, and whom it hears at full rate."""

    __slots__ = (
        "connection",
        "live",
        "batched",
        "group",
        "cell",
        "near",
        "around",
        "pending",
        "far_cursor",
        "far_credit",
        "refresh_at",
    )

    def __init__(self, connection, live, batched: bool):
        self.connection = connection
        self.live = live
        self.batched = batched
        # Shared empty containers until filled: most sockets of a quiet world hear nobody.
        self.near: set[str] | frozenset[str] = _NOBODY
        # How many other players its cells hold, counted with its nearest
        # (about once a second), not by every tick that needs it.
        self.around = 0
        # Batched: the nearest who moved this tick, in order.
        self.pending: dict[str, None] = {} if batched else _NOTHING_PENDING
        # Viewers start their round of the far crowd at different places.
        self.far_cursor = random.randrange(1 << 16)
        self.far_credit = 0.0
        self.refresh_at = 0.0


class Crowd:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.viewers: dict[object, Viewer] = {}
        # What a tick looks at: the connections with more players around than
        # they hear at full rate (as of their last refresh), and the batched
        # ones with moves waiting. Most of a scattered world's are neither.
        self.crowded: dict[Viewer, None] = {}
        self.waiting: dict[Viewer, None] = {}
        self.batched_viewers = 0
        self.hearers: dict[str, set[Viewer]] = {}  # mover → viewers hearing them at full rate
        self.movers: dict[str, Mover] = {}
        self.members: dict[str, dict[str, None]] = {}  # cell group → movers last seen in it
        self.dropped = 0  # deliveries to sockets that had just closed
        self._dropped_logged = 0
        self._dropped_logged_at = clock()
        self._last_tick = clock()
        self._expired_at = clock()

    # Connections ---------------------------------------------------------------------

    def watch(self, connection, live, cell: tuple[int, int], batched: bool) -> None:
        """The connection's player is in `cell` now: hear its cell and the eight around it."""
        viewer = self.viewers.get(connection)
        if viewer is None:
            viewer = self.viewers[connection] = Viewer(connection, live, batched)
            self.batched_viewers += batched
        viewer.group = realtime.cell_group(*cell)
        viewer.cell = cell
        self._refresh(viewer.group, [viewer])
        viewer.refresh_at = self.clock() + random.uniform(0, NEAREST_REFRESH_S)

    def unwatch(self, connection) -> None:
        viewer = self.viewers.pop(connection, None)
        if viewer is not None:
            self.batched_viewers -= viewer.batched
            self._hear_near(viewer, _NOBODY)
            self.crowded.pop(viewer, None)
            self.waiting.pop(viewer, None)

    # Moves ---------------------------------------------------------------------------

    async def moved(self, event: dict, listeners) -> None:
        """A `player.moved` event of a cell; `listeners` are the connections following it."""
        mover_id, group = event["player_id"], event["cell"]
        mover = self.movers.get(mover_id)
        arrived = mover is None or mover.group != group
        if arrived:
            if mover is not None:
                self._leave_cell(mover)
            mover = self.movers[mover_id] = Mover(mover_id, group)
            self.members.setdefault(group, {})[mover_id] = None
        mover.lng, mover.lat, mover.event = event["lng"], event["lat"], event
        mover.moved_at = self.clock()
        if arrived:
            self._arrive(mover_id, listeners)
        hearers = self.hearers.get(mover_id)
        if not hearers:
            return
        # A hearer may leave while an earlier one is told.
        for viewer in list(hearers):
            if not mover.heard_in(viewer.cell):
                continue  # the mover walked out of what this viewer hears; the next refresh drops it
            if viewer.batched:
                viewer.pending[mover_id] = None
                self.waiting[viewer] = None
            else:
                await self._send(viewer, event)

    def _arrive(self, mover_id: str, listeners) -> None:
        """A mover new to a cell: heard at full rate at once by its listeners that have room."""
        visible = settings.WEBSOCKET_VISIBLE_PLAYERS
        for connection in listeners:
            viewer = self.viewers.get(connection)
            if (
                viewer is not None
                and len(viewer.near) < visible
                and mover_id not in viewer.near
                and viewer.live.player_id != mover_id
            ):
                if viewer.near is _NOBODY:
                    viewer.near = set()
                viewer.near.add(mover_id)
                self.hearers.setdefault(mover_id, set()).add(viewer)

    def gone(self, player_id: str) -> None:
        """A player left the world: nobody hears them any more."""
        mover = self.movers.pop(player_id, None)
        if mover is not None:
            self._leave_cell(mover)
        for viewer in self.hearers.pop(player_id, ()):
            viewer.near.discard(player_id)
            viewer.pending.pop(player_id, None)

    def _expire(self, now: float) -> None:
        """
        Forget movers not heard of for MOVER_TTL_S: a player of another process
        who walked out of the cells followed here sends no more moves this way.
        """
        self._expired_at = now
        stale = [pid for pid, mover in self.movers.items() if mover.moved_at < now - MOVER_TTL_S]
        for player_id in stale:
            self.gone(player_id)

    def cell_dropped(self, group: str) -> None:
        """No connection here follows `group` any more: forget the movers last seen in it."""
        for player_id in list(self.members.get(group, ())):
            self.gone(player_id)

    def _leave_cell(self, mover: Mover) -> None:
        members = self.members.get(mover.group)
        if members is not None:
            members.pop(mover.player_id, None)
            if not members:
                del self.members[mover.group]

    # Nearest players -----------------------------------------------------------------

    def _candidates(self, group: str, cache: dict) -> list[str]:
        """The movers in the cell `group` and the eight around it."""
        found = cache.get(group)
        if found is None:
            _, row, col = group.split(".")
            found = []
            for around in realtime.cells_around((int(row), int(col))):
                found.extend(self.members.get(realtime.cell_group(*around), ()))
            cache[group] = found
        return found

    def _refresh(self, group: str, viewers: list[Viewer], cache: dict | None = None) -> None:
        """Recompute the nearest players of `viewers`, all standing in the cell `group`."""
        candidates = self._candidates(group, {} if cache is None else cache)
        visible = settings.WEBSOCKET_VISIBLE_PLAYERS
        everyone = set(candidates)
        for viewer in viewers:
            viewer.around = len(everyone) - (viewer.live.player_id in everyone)
        if len(candidates) <= visible + 1:
            crowded = []
            for viewer in viewers:
                others = (everyone - {viewer.live.player_id}) or _NOBODY
                if len(others) <= visible:
                    self._hear_near(viewer, others)
                else:
                    crowded.append(viewer)
            if not crowded:
                return
            viewers = crowded
        index = {player_id: n for n, player_id in enumerate(candidates)}
        movers = [self.movers[player_id] for player_id in candidates]
        # Degrees, with longitude shrunk to metres' proportion at this latitude: fine for ranking.
        scale = np.cos(np.radians(viewers[0].live.lat))
        xs = np.fromiter((m.lng for m in movers), float, len(movers)) * scale
        ys = np.fromiter((m.lat for m in movers), float, len(movers))
        vx = np.fromiter((v.live.lng for v in viewers), float, len(viewers)) * scale
        vy = np.fromiter((v.live.lat for v in viewers), float, len(viewers))
        distances = (xs[None, :] - vx[:, None]) ** 2 + (ys[None, :] - vy[:, None]) ** 2
        for row, viewer in enumerate(viewers):
            own = index.get(viewer.live.player_id)
            if own is not None:
                distances[row, own] = np.inf
        if visible <= 0:
            nearest = np.empty((len(viewers), 0), dtype=int)
        else:
            self._keep_near(viewers, index, distances, visible)
            nearest = np.argpartition(distances, visible - 1, axis=1)[:, :visible]
        for row, viewer in enumerate(viewers):
            chosen = {candidates[n] for n in nearest[row].tolist()}
            chosen.discard(viewer.live.player_id)
            self._hear_near(viewer, chosen or _NOBODY)

    @staticmethod
    def _keep_near(viewers: list[Viewer], index: dict, distances, visible: int) -> None:
        """
        Rank first (distance -1) the players each viewer hears at full rate
        already that are still within KEEP_NEAR_FACTOR of its budget's edge:
        they keep their place, and newcomers take only the places left.
        """
        rows, columns = [], []
        for row, viewer in enumerate(viewers):
            for player_id in viewer.near:
                column = index.get(player_id)
                if column is not None:
                    rows.append(row)
                    columns.append(column)
        if not rows:
            return
        # Squared distances: the factor squared.
        edge = np.partition(distances, visible - 1, axis=1)[:, visible - 1] * KEEP_NEAR_FACTOR**2
        rows, columns = np.array(rows), np.array(columns)
        kept = distances[rows, columns] <= edge[rows]
        distances[rows[kept], columns[kept]] = -1.0

    def _hear_near(self, viewer: Viewer, near: set[str]) -> None:
        for player_id in viewer.near - near:
            hearers = self.hearers.get(player_id)
            if hearers is not None:
                hearers.discard(viewer)
                if not hearers:
                    del self.hearers[player_id]
            viewer.pending.pop(player_id, None)
        for player_id in near - viewer.near:
            self.hearers.setdefault(player_id, set()).add(viewer)
        viewer.near = near
        if viewer.around > len(near):
            self.crowded[viewer] = None
        else:
            self.crowded.pop(viewer, None)

    # Ticks ---------------------------------------------------------------------------

    def tick_period(self) -> float:
        """
        Seconds between two ticks: WEBSOCKET_TICK_MS, or longer where a tick
        that often would write more than WEBSOCKET_TICK_FRAMES batched frames a
        second, up to WEBSOCKET_TICK_MAX_MS.
        """
        shortest, longest = settings.WEBSOCKET_TICK_MS, settings.WEBSOCKET_TICK_MAX_MS
        within_budget = 1000 * self.batched_viewers / max(settings.WEBSOCKET_TICK_FRAMES, 1)
        return max(shortest, min(longest, within_budget)) / 1000

    async def tick_forever(self) -> None:
        """
        Tick every `tick_period()`, counted from when each tick was due: a
        tick gives way to moves while it sends, and counted from its end the
        period would grow by that time, and with it every batched move's wait.
        A tick that overran its period is followed by the next at once, without
        a burst of ticks to catch up.
        """
        loop = asyncio.get_running_loop()
        due = loop.time() + self.tick_period()
        while True:
            await asyncio.sleep(max(due - loop.time(), 0.0))
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("a crowd tick failed")
            due = max(due + self.tick_period(), loop.time())

    async def tick(self) -> None:
        """Refresh the nearest players that are due, and send what waited for the tick."""
        now = self.clock()
        since = self._last_tick
        elapsed, self._last_tick = min(max(now - since, 0.0), 1.0), now
        cache: dict[str, list[str]] = {}
        due: dict[str, list[Viewer]] = {}
        for viewer in self.viewers.values():
            if viewer.refresh_at <= now:
                viewer.refresh_at = now + NEAREST_REFRESH_S
                due.setdefault(viewer.group, []).append(viewer)
        for group, viewers in due.items():
            self._refresh(group, viewers, cache)
        if now - self._expired_at >= 1.0:
            self._expire(now)

        rate = settings.WEBSOCKET_FAR_UPDATES
        shared: dict[tuple, dict] = {}
        fresh: dict[str, list[str]] = {}
        yield_at = time.perf_counter() + TICK_SLICE_S
        waiting, self.waiting = self.waiting, {}
        for viewer in [
            *self.crowded,
            *(viewer for viewer in waiting if viewer not in self.crowded),
        ]:
            if time.perf_counter() >= yield_at:
                # Moves that arrived meanwhile are answered before the rest of the tick.
                await asyncio.sleep(0)
                yield_at = time.perf_counter() + TICK_SLICE_S
            if viewer.connection.live is None:
                continue  # not yet told it is authenticated (or gone): nothing may come before that
            around = viewer.around
            crowded = around > len(viewer.near) and rate > 0
            if not (crowded or viewer.pending):
                continue  # hears everyone around at once: nothing waits for the tick
            far = []
            if crowded:
                viewer.far_credit = min(viewer.far_credit + rate * elapsed, max(rate, 1.0))
                if viewer.far_credit >= 1:
                    moved = fresh.get(viewer.group)
                    if moved is None:
                        moved = fresh[viewer.group] = self._moved_since(
                            self._candidates(viewer.group, cache), since
                        )
                    far = self._far_moves(viewer, moved, int(viewer.far_credit))
                    viewer.far_credit -= len(far)
            if viewer.batched:
                if viewer.pending or far:
                    await self._send_batch(viewer, far, around, shared)
            else:
                for mover in far:
                    await self._send(viewer, mover.event)
        self._log_dropped(now)

    def _moved_since(self, candidates: list[str], since: float) -> list[str]:
        # Candidates were listed before the tick last gave way: some may have left since.
        movers = self.movers
        return [
            player_id
            for player_id in candidates
            if (mover := movers.get(player_id)) is not None and mover.moved_at > since
        ]

    def _far_moves(self, viewer: Viewer, moved: list[str], wanted: int) -> list[Mover]:
        """
        Up to `wanted` of the players around that moved since the last tick
        and that the viewer does not hear at full rate, in turn.
        """
        count = len(moved)
        if not count:
            return []
        taken: list[Mover] = []
        cursor = viewer.far_cursor % count
        own, near = viewer.live.player_id, viewer.near
        for _ in range(count):
            player_id = moved[cursor]
            cursor = (cursor + 1) % count
            mover = self.movers.get(player_id)
            if mover is None or player_id == own or player_id in near:
                continue  # left while the tick gave way, or heard at full rate
            taken.append(mover)
            if len(taken) == wanted:
                break
        viewer.far_cursor = cursor
        return taken

    async def _send_batch(self, viewer: Viewer, far: list[Mover], around: int, shared) -> None:
        movers = self.movers
        ids = [*viewer.pending, *(mover.player_id for mover in far)]
        viewer.pending = {}
        key = (around, *ids)
        batch = shared.get(key)
        if batch is None:
            moves = ",".join(movers[player_id].event["entry"] for player_id in ids)
            batch = shared[key] = {
                "frame": f'{{"type":"players-moved","data":{{"around":{around},'
                f'"moves":[{moves}]}}}}'
            }
        await self._send(viewer, batch)

    async def _send(self, viewer: Viewer, event: dict) -> None:
        connection = viewer.connection
        if connection.live is None:
            return  # not yet told it is authenticated, or gone
        try:
            await connection.send_shared(event)
        except OSError:
            # The socket closed a moment ago: normal when players leave; counted.
            self.dropped += 1

    def _log_dropped(self, now: float) -> None:
        if now - self._dropped_logged_at < DROPPED_LOG_INTERVAL_S:
            return
        fresh = self.dropped - self._dropped_logged
        if fresh:
            logger.info(
                "%d deliveries to sockets that had just closed were dropped in the last %.0f s",
                fresh,
                now - self._dropped_logged_at,
            )
        self._dropped_logged, self._dropped_logged_at = self.dropped, now
