"""
The real-time contract between server processes: channel-layer group names,
the interest cells of the map, one constructor per event type, emitting events
from synchronous code, and group memberships that survive Redis going away.

Every group name and every event is built here, so that senders and receivers
agree. Services emit events about data once the transaction that wrote the
data commits (`emit`), never before; repositories emit none. A receiver finds
its handler by the event's type (mmo/socket/registry.py).
"""

import asyncio
import contextlib
import logging
import math
import time
import zlib

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from redis.exceptions import RedisError

from mmo.redis_client import async_client
from mmo.servers import channel_layer

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


# A player's and a session's events travel on one of this many shared groups
# of the channel layer (`layer_group`). A group each would cost a Redis
# subscription at every login and one more at every logout: in a reconnect
# storm, hundreds a second, each waiting its turn behind the publish/subscribe
# layer's one lock per host. Shared, they are subscribed once per process,
# and a process drops the few events of players it does not hold.
PERSONAL_LAYER_GROUPS = 256


def layer_group(group: str) -> str:
    """The channel-layer group that carries the events of `group`."""
    kind, _, key = group.partition(".")
    if kind in {"player", "session"}:
        return f"personal.{zlib.crc32(key.encode()) % PERSONAL_LAYER_GROUPS}"
    return group


def staff_group(user_id) -> str:
    """The admin's own sockets of one staff account (the world map's live players)."""
    return f"staff.{user_id}"


def room_group(room_id: str) -> str:
    """The sockets that joined a chat room (room ids are slugs of at most 80 characters)."""
    return f"room.{room_id}"


# Interest cells ---------------------------------------------------------------------

METRES_PER_DEGREE = 111_320.0


def cell_of(lng: float, lat: float) -> tuple[int, int]:
    """The interest cell of a point: a square of MOVEMENT_CELL_SIZE_M (in degrees of latitude)."""
    size = settings.MOVEMENT_CELL_SIZE_M / METRES_PER_DEGREE
    return math.floor(lat / size), math.floor(lng / size)


def cells_around(cell: tuple[int, int]) -> set[tuple[int, int]]:
    """A cell and its eight neighbours: what a player in it hears."""
    row, col = cell
    return {(row + d_row, col + d_col) for d_row in (-1, 0, 1) for d_col in (-1, 0, 1)}


def cell_group_of(lng: float, lat: float) -> str:
    return cell_group(*cell_of(lng, lat))


# Events: one constructor per type ---------------------------------------------------
# A type "a.b" reaches the handler registered for it. Cell events carry their
# cell's group under "cell" (movement/interest.py tells its listeners by it).


def player_moved(*, player_id: str, lng: float, lat: float, frame: str, entry: str) -> dict:
    """
    A move where it ended, with its `player-moved` frame and its entry of a
    `players-moved` frame, each encoded once for everyone who hears it.
    """
    return {
        "type": "player.moved",
        "player_id": player_id,
        "lng": lng,
        "lat": lat,
        "frame": frame,
        "entry": entry,
    }


def player_disconnected(*, player_id: str) -> dict:
    return {"type": "player.disconnected", "player_id": player_id}


def player_superseded(*, channel: str, authenticated_at: int) -> dict:
    """A newer connection of the player: older ones give way to it."""
    return {"type": "player.superseded", "channel": channel, "authenticated_at": authenticated_at}


def player_ended(*, reason: str) -> dict:
    """The account was deactivated or deleted: its sockets close."""
    return {"type": "player.ended", "reason": reason}


def session_ended(*, reason: str = "Your session ended.") -> dict:
    return {"type": "session.ended", "reason": reason}


def staff_ended(*, reason: str, session: str = "") -> dict:
    """
    A staff account's admin access ended: its admin sockets close. `session`
    (a digest of the session key, never the key) limits it to the sockets of
    one admin session, for a logout; empty, every session of the account.
    """
    return {"type": "staff.ended", "reason": reason, "session": session}


def player_teleported(*, flag_id: str, lng: float, lat: float, version: int) -> dict:
    return {
        "type": "player.teleported",
        "flag_id": flag_id,
        "lng": lng,
        "lat": lat,
        "version": version,
    }


def flags_changed() -> dict:
    """The player's own flags changed (placed, removed, abandoned): where they may roam, too."""
    return {"type": "flags.changed"}


def flag_placed(*, flag: dict, actor_id: str | None, cell: str) -> dict:
    return {"type": "flag.placed", "flag": flag, "actor_id": actor_id, "cell": cell}


def flag_removed(*, flag_id: str, actor_id: str | None, cell: str) -> dict:
    return {"type": "flag.removed", "flag_id": flag_id, "actor_id": actor_id, "cell": cell}


def territories_changed(*, flag_ids: list[str]) -> dict:
    """Flags' land changed (placed, removed, abandoned, taken over): every process reloads them."""
    return {"type": "territories.changed", "flag_ids": flag_ids}


def areas_changed() -> dict:
    """Staff changed an area: every process rebuilds its area index."""
    return {"type": "areas.changed"}


def chat_message(
    *, message_id: str, sender_id: str, sender_name: str, message: str, scope: str, timestamp: int
) -> dict:
    return {
        "type": "chat.message",
        "id": message_id,
        "sender_id": sender_id,
        "sender_name": sender_name,
        "message": message,
        "scope": scope,
        "timestamp": timestamp,
    }


def room_message(
    *,
    room_id: str,
    message_id: int,
    sender_id: str,
    username: str,
    message: str,
    timestamp: int,
    channel: str = "",
) -> dict:
    """A stored room message; `channel` is the sender's socket, answered directly."""
    return {
        "type": "room.message",
        "room_id": room_id,
        "id": message_id,
        "sender_id": sender_id,
        "username": username,
        "message": message,
        "timestamp": timestamp,
        "channel": channel,
    }


def room_member_joined(*, room_id: str, player_id: str, username: str, channel: str) -> dict:
    return {
        "type": "room.joined",
        "room_id": room_id,
        "player_id": player_id,
        "username": username,
        "channel": channel,
    }


def room_member_left(*, room_id: str, player_id: str, username: str, channel: str) -> dict:
    return {
        "type": "room.left",
        "room_id": room_id,
        "player_id": player_id,
        "username": username,
        "channel": channel,
    }


def room_message_deleted(*, room_id: str, message_id: int) -> dict:
    """Staff deleted a message: members online drop it."""
    return {"type": "room.message_deleted", "room_id": room_id, "id": message_id}


def room_deleted(*, room_id: str) -> dict:
    return {"type": "room.deleted", "room_id": room_id}


def chat_muted(*, until: float | None) -> dict:
    """The player's mute changed: silenced until `until` (a Unix time), or not at all."""
    return {"type": "chat.muted", "until": until}


def leaderboard_rank(*, category: str, rank: int, score: int) -> dict:
    """A player's rank on a leaderboard changed (sent to the player's group)."""
    return {"type": "leaderboard.rank", "category": category, "rank": rank, "score": score}


def addressed(group: str, event: dict) -> dict:
    """
    `event` as sent to `group`: it names the group, by which a process tells
    which of its connections it is for (`ConnectionGroups`).
    """
    return {**event, "group": group}


def emit(group: str, event: dict) -> None:
    """Send `event` to `group` once the current transaction commits."""

    def send():
        try:
            async_to_sync(get_channel_layer().group_send)(
                layer_group(group), addressed(group, event)
            )
        except Exception:  # the data is committed; a lost event must not undo a request
            logger.exception("could not emit %s to %s", event.get("type"), group)

    transaction.on_commit(send)


class Outbox:
    """
    The events this process's event loop sends to groups, published in
    batches: whatever was sent since the last batch goes to Redis in one
    pipelined round trip per host. One by one, each `group_send` of the
    publish/subscribe layer waits for Redis in turn behind the layer's one
    lock, which its subscriptions share too: moves were capped by it, and in a
    reconnect storm every login waited behind the others' announcements.

    Delivery is best effort, as every channel-layer event is: while Redis is
    unreachable a batch is lost, and what sent it stands.
    """

    def __init__(self):
        self._events: list[tuple[str, dict]] = []
        self._filled = asyncio.Event()
        # Told, after each batch, how many subscribers each event reached
        # (None where the layer does not say): `InterestCells.published`.
        self.on_published = None

    def send(self, group: str, event: dict) -> None:
        """Publish `event` to `group` with the next batch, after everything sent before it."""
        self._events.append((layer_group(group), event))
        self._filled.set()

    async def send_forever(self, layer) -> None:
        """Publish through `layer`, one batch at a time, what was sent."""
        async with batch_sender(layer) as send:
            while True:
                await self._filled.wait()
                self._filled.clear()
                batch, self._events = self._events, []
                try:
                    subscribers = await send(batch)
                except (OSError, asyncio.TimeoutError, RedisError) as error:
                    layer_unreachable("send", f"{len(batch)} events", error)
                    continue
                except Exception:
                    logger.exception("could not publish %d events", len(batch))
                    continue
                if self.on_published is not None:
                    self.on_published(batch, subscribers)


@contextlib.asynccontextmanager
async def batch_sender(layer):
    """
    A coroutine function that sends a batch of (group, event) pairs through
    `layer`, and answers how many subscribers each reached: the processes
    listening to its group (None where the layer does not tell).
    """
    route = channel_layer.group_route(layer)
    if route is None:

        async def send_each(batch):
            for group, event in batch:
                await layer.group_send(group, event)
            return [None] * len(batch)

        yield send_each
        return

    async def send_pipelined(batch):
        # What the layer's group_send does, in one round trip per Redis host.
        pipelines, positions = {}, {}
        for position, (group, event) in enumerate(batch):
            address, channel = route(group)
            pipeline = pipelines.get(address)
            if pipeline is None:
                pipeline = pipelines[address] = async_client(address).pipeline(transaction=False)
                positions[address] = []
            pipeline.publish(channel, layer.serialize(event))
            positions[address].append(position)
        answers = await asyncio.gather(*(pipeline.execute() for pipeline in pipelines.values()))
        subscribers = [None] * len(batch)
        for address, counts in zip(pipelines, answers, strict=True):
            for position, count in zip(positions[address], counts, strict=True):
                subscribers[position] = count
        return subscribers

    yield send_pipelined


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
        self.joined: set[str] = set()  # in `groups`, and taken by the layer
        self._retry: asyncio.Task | None = None
        # The groups asked for since the last batch went out, and when they are in.
        self._next_batch: tuple[set[str], asyncio.Future] | None = None
        self._sending = asyncio.Lock()
        self._batches: set[asyncio.Task] = set()

    async def join(self, group: str) -> None:
        """
        Join `group` together with the others asked for meanwhile, in one
        SUBSCRIBE per Redis host (`channel_layer.group_add_all`): a reconnect
        storm's players following their cells cost a turn of the layer's lock
        per batch, not one per group.
        """
        if group in self.groups:
            return
        self.groups.add(group)
        if self._next_batch is None:
            self._next_batch = (set(), asyncio.get_running_loop().create_future())
            batch = asyncio.create_task(self._send_batch())
            self._batches.add(batch)
            batch.add_done_callback(self._batches.discard)
        groups, joined = self._next_batch
        groups.add(group)
        await asyncio.shield(joined)

    async def _send_batch(self) -> None:
        async with self._sending:  # one batch at a time; the next one gathers meanwhile
            (groups, joined), self._next_batch = self._next_batch, None
            try:
                await channel_layer.group_add_all(self.layer, sorted(groups), self.channel)
            except Exception as error:
                layer_unreachable("join", f"{len(groups)} groups", error)
                self.unconfirmed |= groups & self.groups
                if self.unconfirmed and self._retry is None:
                    self._retry = asyncio.create_task(self._join_again())
            else:
                self.joined |= groups & self.groups
                for group in groups - self.groups:  # left while it was being joined
                    await self._discard(group)
            finally:
                joined.set_result(None)

    async def leave(self, group: str) -> None:
        if group in self.groups:
            self.groups.discard(group)
            self.unconfirmed.discard(group)
            self.joined.discard(group)
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
                    else:
                        self.joined.add(group)
        finally:
            self._retry = None

    async def _discard(self, group: str) -> None:
        try:
            await self.layer.group_discard(group, self.channel)
        except Exception as error:
            layer_unreachable("leave", group, error)


class ConnectionGroups:
    """
    The groups of this process's connections (a player's, a session's, an area's,
    chat rooms), heard on the process's one channel. A channel of its own per
    connection cost a queue, a task and a Redis subscription each, about 5 KiB
    of every connected player. The layer is asked to join a group once, for
    the first connection here in it, and to leave it with the last.

    An event names its group (`addressed`) and reaches the connections of this
    process in it through their `hear`, which handles it after the frame the
    connection is handling, if any. Each event is delivered in a task of its
    own, so that a handler waiting on the database holds up neither the
    process's channel nor other events; a connection busy with a frame hears
    it in a task of its own, so that it holds up no other connection.
    """

    def __init__(self):
        self.members: dict[str, set] = {}
        # The groups here that each channel-layer group carries (`layer_group`).
        self.carried: dict[str, set[str]] = {}
        self.memberships: Memberships | None = None
        self._deliveries: set[asyncio.Task] = set()

    async def attach(self, layer, channel: str) -> None:
        """Hear the groups of this process's connections on `channel`."""
        self.memberships = Memberships(layer, channel)
        for carrier in list(self.carried):
            await self.memberships.join(carrier)

    def detach(self) -> None:
        if self.memberships is not None:
            self.memberships.stop()
            self.memberships = None

    async def join(self, group: str, connection) -> None:
        members = self.members.get(group)
        if members is not None:
            members.add(connection)
            return
        self.members[group] = {connection}
        carrier = layer_group(group)
        carried = self.carried.get(carrier)
        if carried is not None:
            carried.add(group)
            return
        self.carried[carrier] = {group}
        # Without a channel yet, joined when one is attached.
        if self.memberships is not None:
            await self.memberships.join(carrier)

    async def leave(self, group: str, connection) -> None:
        members = self.members.get(group)
        if members is None or connection not in members:
            return
        members.discard(connection)
        if members:
            return
        del self.members[group]
        carrier = layer_group(group)
        carried = self.carried[carrier]
        carried.discard(group)
        if not carried:
            del self.carried[carrier]
            if self.memberships is not None:
                await self.memberships.leave(carrier)

    def heard(self, event: dict) -> None:
        """An event from the layer, for the connections here in its group."""
        members = self.members.get(event.get("group"))
        if members:
            self._spawn(self._deliver(event, list(members)))

    def _spawn(self, coroutine) -> None:
        delivery = asyncio.create_task(coroutine)
        self._deliveries.add(delivery)
        delivery.add_done_callback(self._deliveries.discard)

    async def _deliver(self, event: dict, members: list) -> None:
        for connection in members:
            if connection.serial.locked():
                self._spawn(self._hear(connection, event))
            else:
                await self._hear(connection, event)

    async def _hear(self, connection, event: dict) -> None:
        try:
            await connection.hear(event)
        except OSError:
            pass  # its socket closed a moment ago: normal when players leave
        except Exception:
            logger.exception("delivering %s failed", event.get("type"))
