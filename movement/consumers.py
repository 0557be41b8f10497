"""
The game's WebSocket (`/ws/game/`), as a connection: it authenticates, limits,
parses, dispatches and sends. What each message means is up to the app that
registered it (mmo/socket/registry.py; each app's socket.py); docs/protocol.md
describes them all.
"""

import asyncio
import functools
import itertools
import logging
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import InterfaceError, OperationalError
from redis.exceptions import RedisError
from rest_framework.exceptions import AuthenticationFailed

from mmo import realtime
from mmo.ratelimit import TokenBucket, WindowCounter
from mmo.servers import consumers as consumer_loop
from mmo.servers.backlog import WRITE_FRAME, text_frame
from mmo.socket import protocol
from mmo.socket.admission import logins_in_progress
from mmo.socket.protocol import ProtocolError, error_frame, frame, now_ms
from mmo.socket.registry import boolean, message, registry, text
from movement.selectors import PlayerSnapshot, player_snapshot
from movement.socket import world_enter, world_entered, world_leave
from movement.world import live_world
from players.authentication import authenticate_access_token
from players.models import Player

logger = logging.getLogger(__name__)

# Close codes (4000–4999 are the application's own).
CLOSE_SUPERSEDED = 4000
CLOSE_AUTH_FAILED = 4001
CLOSE_SESSION_ENDED = 4003
CLOSE_ABUSE = 4008


class GameConsumer(AsyncWebsocketConsumer):
    # No channel of its own in the channel layer (an alias that is not configured
    # gives none): the connection's groups are heard on the process's one channel
    # (`World.groups`, mmo/realtime.py ConnectionGroups).
    channel_layer_alias = "none: groups are heard on the process's channel"

    # Moves heard as one `players-moved` frame per tick, when asked for in `authenticate`
    # (set on the connection only then: an attribute per connection costs memory).
    batch_moves = False

    async def __call__(self, scope, receive, send):
        """
        The connection's messages, each handled one turn of the event loop
        after it arrived, not three as by Channels' own loop (mmo/servers/consumers.py).
        """
        try:
            await consumer_loop.serve(self, scope, receive, send)
        finally:
            logins_in_progress.ended(self)

    async def dispatch(self, message):
        """
        Channels closes stale database connections before every message it
        dispatches: a hop to the one thread for synchronous code, per frame and
        per group event, which made that thread the bottleneck under load. This
        consumer touches the database only through database_sync_to_async,
        which closes them itself, so moves stay on the event loop.
        """
        message_type = message.get("type", "")
        async with self.serial:
            if message_type.startswith("websocket."):
                await getattr(self, message_type.replace(".", "_"))(message)
            else:
                await self.handle_event(message)

    async def hear(self, event: dict):
        """
        An event of one of its groups (`World.groups`): handled after the frame
        being handled, as a channel of its own would have queued it (a teleport
        answered on this socket is landed before its event is heard).
        """
        async with self.serial:
            await self.handle_event(event)

    @functools.cached_property
    def serial(self) -> asyncio.Lock:
        """Frames and group events are handled one at a time, in order."""
        return asyncio.Lock()

    async def handle_event(self, event: dict):
        """
        An event from the channel layer. During a rolling deployment a process
        of another version may send one this code does not know, or of another
        shape: it is dropped, never allowed to end the player's connection.
        """
        handler = registry.events.get(event.get("type"))
        if handler is None:
            logger.warning("ignoring an event of unknown type %r", event.get("type"))
            return
        try:
            await handler(self, event)
        except (KeyError, TypeError, ValueError, AttributeError):
            logger.warning("ignoring a malformed %r event", event.get("type"), exc_info=True)

    # Connection lifecycle ---------------------------------------------------------

    async def connect(self):
        # Until it is authenticated, refused, or its consumer ends (`__call__`):
        # the process refuses handshakes past WEBSOCKET_LOGINS_IN_PROGRESS of
        # them (mmo/socket/admission.py).
        logins_in_progress.started(self)
        self.world = live_world()
        self.player = None
        self.session_id: str | None = None
        self.live = None
        # Names this connection in events (who sent it, which one is the newest).
        self.channel_name = connection_names.next()
        self.joined: set[str] = set()  # its groups (Channels' own `groups` are joined by name)
        self.closing = False
        self.authenticated_at = 0
        now = self.world.clock()
        self.message_bucket = TokenBucket(settings.WEBSOCKET_RATE, settings.WEBSOCKET_BURST, now)
        self.abuse = WindowCounter(10.0)
        self.auth_timer = None
        await self.world.start()
        await self.accept()

        header_token = _bearer_token(self.scope)
        if header_token is not None:
            await self.authenticate(header_token)
        else:
            self.auth_timer = asyncio.create_task(self._require_authentication())

    async def _require_authentication(self):
        await asyncio.sleep(settings.WEBSOCKET_AUTH_TIMEOUT)
        if self.live is None and not self.closing:
            await self.send(error_frame("auth_timeout", "Authenticate within the time allowed."))
            await self.shut(CLOSE_AUTH_FAILED)

    async def disconnect(self, code):
        self.closing = True
        if self.auth_timer is not None:
            self.auth_timer.cancel()
        live, self.live = self.live, None
        if live is not None:
            for leaving in registry.leaving:
                await leaving(self)
            await world_leave(self, live)
        for group in list(self.joined):
            await self.leave(group)

    async def shut(self, code: int):
        self.closing = True
        await self.close(code=code)

    # Incoming frames ----------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if self.closing:
            return
        now = self.world.clock()
        if not self.message_bucket.take(now):
            await self._refuse("rate_limited", "Too many messages; slow down.", now)
            return
        message_type = None
        try:
            if text_data is None:
                raise ProtocolError("invalid_frame", "Frames are JSON text, not binary.")
            message_type, data = protocol.parse_frame(text_data)
            declared = registry.find(message_type)
            if self.live is None and declared.authenticated:
                raise ProtocolError("not_authenticated", "Send authenticate first.")
            await declared.handler(self, declared.read(data), now)
        except ProtocolError as error:
            await self._refuse(error.code, error.message, now)
        except (OperationalError, InterfaceError, RedisError) as error:
            # The database or Redis is restarting or out of reach: nothing
            # happened, and the client may send the same message again in a moment.
            service = "Redis" if isinstance(error, RedisError) else "database"
            logger.warning("%s unavailable for a %s: %s", service, message_type, error)
            await self.send(
                error_frame(
                    "unavailable", f"The server cannot reach its {service}; try again shortly."
                )
            )

    async def _refuse(self, code: str, message: str, now: float):
        await self.send(error_frame(code, message))
        if self.abuse.add(now) > settings.WEBSOCKET_ABUSE_LIMIT:
            logger.warning("closing a connection for sustained abuse (%s)", code)
            await self.shut(CLOSE_ABUSE)

    # Authentication -------------------------------------------------------------

    async def authenticate(self, token: str, claimed_id=None, claimed_username=None):
        try:
            login = await read_login(token)
        except AuthenticationFailed as error:
            await self._fail_authentication(str(error.detail))
            return
        player, session_id = login.player, login.session_id
        if (claimed_id is not None and claimed_id != str(player.pk)) or (
            claimed_username is not None and claimed_username != player.username
        ):
            await self._fail_authentication("playerId or username do not match the token.")
            return
        if self.auth_timer is not None:
            # Not kept: a cancelled task holds its CancelledError, and that the
            # frames it was raised in, for as long as the connection lasts.
            self.auth_timer.cancel()
            self.auth_timer = None
        self.player, self.session_id = player, str(session_id)

        # Other connections of this player, here or on another process, give way
        # to the newest. (Events may arrive late: an older connection's own
        # announcement can reach this one after it joined the group.)
        self.authenticated_at = time.time_ns()
        await self.join(realtime.player_group(player.pk))
        self.publish(
            realtime.player_group(player.pk),
            realtime.player_superseded(
                channel=self.channel_name, authenticated_at=self.authenticated_at
            ),
        )
        await self.join(realtime.session_group(self.session_id))
        live, authenticated = await world_enter(self, login.snapshot)
        for (joining, reads), read in zip(registry.authenticating, login.reads, strict=True):
            await (joining(self) if reads is None else joining(self, read))
        await self.send_frame("authenticated", authenticated)
        # Only now do the events of others reach this connection (handlers
        # ignore them until `live` is set): players on this process are told
        # directly, so nothing may come before "authenticated".
        self.live = live
        logins_in_progress.ended(self)
        await world_entered(self)

    async def _fail_authentication(self, reason: str):
        logins_in_progress.ended(self)
        await self.send(error_frame("auth_failed", reason))
        await self.shut(CLOSE_AUTH_FAILED)

    # Sending -------------------------------------------------------------------------

    async def send_frame(self, message_type: str, data: dict):
        await self.send(frame(message_type, data))

    async def send(self, text_data=None, bytes_data=None, close=False):
        """
        A text frame goes straight to the transport where the server lets it
        (mmo/servers/backlog.py): the answer to a move is the one frame of
        the move path that every move sends.
        """
        write_frame = self.scope.get(WRITE_FRAME)
        if write_frame is not None and text_data is not None and not close:
            if write_frame(text_frame(text_data)):
                return
        await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def send_shared(self, event: dict):
        """
        Send the frame of an event that many connections of this process hear
        (the same dict reaches them all): where the server lets frames be
        written directly, its bytes are encoded once, for all of them.
        """
        write_frame = self.scope.get(WRITE_FRAME)
        if write_frame is not None:
            encoded = event.get("encoded_frame")
            if encoded is None:
                encoded = event["encoded_frame"] = text_frame(event["frame"])
            if write_frame(encoded):
                return
        await super().send(event["frame"])  # the ordinary way: not open, or not uvicorn

    # Groups ---------------------------------------------------------------------

    async def join(self, group: str):
        if group not in self.joined:
            self.joined.add(group)
            await self.world.groups.join(group, self)

    async def leave(self, group: str):
        if group in self.joined:
            self.joined.discard(group)
            await self.world.groups.leave(group, self)

    def publish(self, group: str, event: dict):
        """
        Fan-out is best effort: while the channel layer is unreachable the
        event is lost, but the connection and what it announces stand.
        """
        self.world.outbox.send(group, realtime.addressed(group, event))


class ConnectionNames:
    """
    Names for connections, unique across processes: a random tag per process,
    then a count. Not a uuid4 each: that reads os.urandom, which lets go of
    the interpreter lock, and taking it back on the event loop waits for any
    busy thread (movement/outline.py), at every connection of a storm.
    """

    def __init__(self):
        self._pid = None

    def next(self) -> str:
        if self._pid != os.getpid():  # a forked process starts its own tag
            self._pid, self._tag, self._count = os.getpid(), uuid.uuid4().hex, itertools.count()
        return f"{self._tag}.{next(self._count)}"


connection_names = ConnectionNames()


# Logging in ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SocketLogin:
    """What a socket's login read from the database, in one trip to a login thread."""

    player: Player
    session_id: uuid.UUID
    snapshot: PlayerSnapshot
    reads: list  # each app's login read (registry.on_authenticated), in order


def load_login(token: str) -> SocketLogin:
    """A socket login's database work: the token checked, the player's state read."""
    player, session_id = authenticate_access_token(token)
    return SocketLogin(
        player=player,
        session_id=session_id,
        snapshot=player_snapshot(player_id=player.pk),
        reads=[
            None if reads is None else reads(player_id=player.pk)
            for _, reads in registry.authenticating
        ],
    )


@functools.cache
def _login_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(settings.WEBSOCKET_LOGIN_THREADS, thread_name_prefix="socket-login")


async def read_login(token: str) -> SocketLogin:
    """
    `load_login` off the event loop, on a login thread. Not on
    the one thread Channels keeps for synchronous code: when a process dies,
    hundreds of its players log in here at once, and there each login would
    wait for all those before it, and for every flag placed or chat stored.
    """
    return await database_sync_to_async(
        load_login, thread_sensitive=False, executor=_login_threads()
    )(token)


# The connection's own messages and events -----------------------------------------------


@message(
    "authenticate",
    schema={
        "token": text(max_length=4096),
        "playerId": text(required=False, max_length=64),
        "username": text(required=False, max_length=50),
        "batchMoves": boolean(default=False),
    },
    authenticated=False,
)
async def authenticate(connection: GameConsumer, data, now):
    if connection.live is not None:
        raise ProtocolError("already_authenticated", "This connection is authenticated.")
    if data["batchMoves"]:
        connection.batch_moves = True
    await connection.authenticate(
        data["token"], claimed_id=data["playerId"], claimed_username=data["username"]
    )


@message("heartbeat")
async def heartbeat(connection: GameConsumer, data, now):
    await connection.send_frame("heartbeat-ack", {"timestamp": now_ms()})


@registry.event("player.superseded")
async def on_player_superseded(connection: GameConsumer, event):
    newer = event["authenticated_at"] > connection.authenticated_at
    if event["channel"] != connection.channel_name and newer and not connection.closing:
        await connection.send_frame(
            "force-disconnect", {"reason": "You connected from somewhere else."}
        )
        await connection.shut(CLOSE_SUPERSEDED)


@registry.event("session.ended")
@registry.event("player.ended")
async def on_session_ended(connection: GameConsumer, event):
    if not connection.closing:
        await connection.send_frame(
            "force-disconnect", {"reason": event.get("reason", "Your session ended.")}
        )
        await connection.shut(CLOSE_SESSION_ENDED)


def _bearer_token(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return token.strip()
    return None
