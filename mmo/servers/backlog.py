"""
A bound on what a game socket may owe a client that does not read.

A client that stops reading (a stalled tab, a phone in a tunnel, a hostile
peer) leaves every frame meant for it in the server's memory, for as long as
its neighbours keep moving. A connection that owes its client more than
WEBSOCKET_MAX_BACKLOG_BYTES is dropped: its client reconnects and resumes from
its stored position, which costs far less than queueing the world's traffic
for it.

Sending to such a client must never wait either: the frames of a move are sent
by the mover's own task to the players of the same process, and one stalled
neighbour would hold up the mover and everyone after it. How each server is
kept from waiting:

- daphne hands every frame to Twisted, which keeps whatever the client's TCP
  window does not take and marks the transport paused once that passed
  64 KiB. What a connection is handed while paused is counted.
- uvicorn (asyncio transports) makes `send` wait once the transport holds more
  than its high-water mark (64 KiB). The mark is raised to the limit, and the
  transport's own buffer is measured before each frame.

Connections of other servers (or of uvicorn at its trace log level, which
wraps `send`) are not recognised. With WEBSOCKET_REQUIRE_BACKLOG_BOUND (the
production settings) they are refused; mmo.servers.startup refuses to start
such a server in the first place.

The same knowledge of the transport lets the game's consumer write its text
frames itself, under uvicorn's websockets-sansio protocol: a frame many players
hear (a move, heard by every neighbour) is encoded once and its bytes written
to each receiver's transport, instead of being framed again for every receiver
on its way through Channels, this middleware and the server's `send`. The
consumer finds that writer in its scope under WRITE_FRAME.
"""

import asyncio
import contextlib
import functools
import logging
import socket
import struct

from django.conf import settings
from websockets.protocol import Protocol as WebSocketProtocol
from websockets.protocol import State

from mmo import logs

logger = logging.getLogger(__name__)

# The scope key of a connection's direct frame writer, where the server has one.
WRITE_FRAME = "mmo.write_frame"


def text_frame(text: str) -> bytes:
    """A server's WebSocket frame of one whole text message (RFC 6455 §5.2: final, unmasked)."""
    payload = text.encode()
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x81, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 127, length)
    return header + payload


class _Backlog:
    """What one connection owes its client; `admits` drops the connection past the limit."""

    def __init__(self, limit: int):
        self.limit = limit
        self.dropped = False

    def watch(self) -> None:
        """Called once the connection is accepted."""

    def close_sent(self) -> bool:
        """Whether the server has sent its close frame (then it refuses to send more)."""
        return False

    def owed_after(self, frame_size: int) -> int:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def admits(self, frame_size: int) -> bool:
        """False once the client would owe more than the limit: the connection is then dropped."""
        if self.dropped:
            return False
        owed = self.owed_after(frame_size)
        if owed <= self.limit:
            return True
        logger.warning("dropping a WebSocket client that stopped reading (%d bytes owed)", owed)
        self.dropped = True
        # Abort: a close frame would wait behind everything the client never read.
        self.abort()
        return False


@functools.cache
def _pause_tracker_class() -> type:
    """
    Twisted keeps `producerPaused` up to date only for a transport with a
    producer. Daphne leaves the HTTP channel registered after the WebSocket
    upgrade; should it not, this stands in. Imported here, under daphne alone:
    Twisted and zope.interface would add 2 MiB to a uvicorn process that never uses them.
    """
    from twisted.internet.interfaces import IPushProducer
    from zope.interface import implementer

    @implementer(IPushProducer)
    class PauseTracker:
        def pauseProducing(self):
            pass

        def resumeProducing(self):
            pass

        def stopProducing(self):
            pass

    return PauseTracker


class DaphneBacklog(_Backlog):
    """Counts what the connection was handed while Twisted's buffer was over its mark."""

    def __init__(self, protocol, limit: int):
        super().__init__(limit)
        self.protocol = protocol
        self.bytes_while_behind = 0

    def watch(self) -> None:
        transport = self.protocol.transport
        if getattr(transport, "producer", False) is None:
            transport.registerProducer(_pause_tracker_class()(), True)

    def owed_after(self, frame_size: int) -> int:
        if not getattr(self.protocol.transport, "producerPaused", False):
            self.bytes_while_behind = 0
        else:
            self.bytes_while_behind += frame_size
        return self.bytes_while_behind

    def abort(self) -> None:
        self.protocol.dropConnection(abort=True)


class AsyncioBacklog(_Backlog):
    """Measures the asyncio transport's write buffer, which may grow to the limit."""

    def __init__(self, transport: asyncio.WriteTransport, limit: int, protocol=None):
        super().__init__(limit)
        self.transport = transport
        self.protocol = protocol

    def watch(self) -> None:
        # The server's `send` waits above the high-water mark; frames are
        # refused before the buffer gets there, so a send never waits.
        self.transport.set_write_buffer_limits(high=self.limit)

    def owed_after(self, frame_size: int) -> int:
        return self.transport.get_write_buffer_size() + frame_size

    def abort(self) -> None:
        # A reset, not a close: closed, the socket would keep what the kernel
        # had taken (megabytes, as its send buffer grows) and trickle it out at
        # the stalled client's pace before the client learns it was dropped.
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

    def close_sent(self) -> bool:
        return bool(getattr(self.protocol, "close_sent", False))

    def can_write_frames(self) -> bool:
        """Whether the server is uvicorn's websockets-sansio protocol, whose state `write_frame` reads."""
        connection = getattr(self.protocol, "conn", None)
        return isinstance(connection, WebSocketProtocol) and all(
            hasattr(self.protocol, name) for name in ("handshake_complete", "close_sent")
        )

    def write_frame(self, frame: bytes) -> bool:
        """
        Write a frame made by `text_frame` straight to the transport. False
        before the handshake: the caller then sends the message the ordinary
        way, which keeps it behind the accept. A frame for a connection that
        is closing has nobody to go to: it is dropped and counted, as
        `send_within_backlog` does (through the ordinary way, uvicorn would
        raise, once per frame: a crowd that disperses at once makes a million).
        A frame past the backlog limit drops the connection.
        """
        protocol = self.protocol
        if not protocol.handshake_complete:
            return False
        if (
            protocol.close_sent
            or protocol.conn.state is not State.OPEN
            or self.transport.is_closing()
        ):
            logs.count("websocket.sent_after_close")
            return True
        if self.admits(len(frame)):
            # Written at once, as the server's own `send` does: frames keep their order.
            self.transport.write(frame)
        return True


def backlog_of(send, limit: int) -> _Backlog | None:
    """The backlog of the connection behind an ASGI `send`, for the servers recognised."""
    # daphne passes `partial(server.handle_reply, protocol)` (an autobahn protocol).
    if isinstance(send, functools.partial) and send.args:
        protocol = send.args[0]
        if hasattr(protocol, "transport") and hasattr(protocol, "dropConnection"):
            return DaphneBacklog(protocol, limit)
    # uvicorn passes its protocol's bound `send`; the protocol holds the transport.
    protocol = getattr(send, "__self__", None)
    transport = getattr(protocol, "transport", None)
    if all(
        hasattr(transport, name)
        for name in ("get_write_buffer_size", "set_write_buffer_limits", "abort")
    ):
        return AsyncioBacklog(transport, limit, protocol)
    return None


_AFTER_ACCEPT = frozenset({"websocket.send", "websocket.close"})


class SendBacklogLimit:
    """ASGI middleware: drop WebSocket clients that fall too far behind."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.application(scope, receive, send)
        backlog = backlog_of(send, settings.WEBSOCKET_MAX_BACKLOG_BYTES)
        if backlog is None:
            if settings.WEBSOCKET_REQUIRE_BACKLOG_BOUND:
                # One such connection is enough for a stalled client to hold up its neighbours.
                logger.error(
                    "refusing a WebSocket connection: its server's send (%r) is not one whose "
                    "backlog mmo/servers/backlog.py can bound",
                    send,
                )
                await send({"type": "websocket.close", "code": 1011})
                return None
            return await self.application(scope, receive, send)
        if isinstance(backlog, AsyncioBacklog) and backlog.can_write_frames():
            scope = {**scope, WRITE_FRAME: backlog.write_frame}

        async def send_within_backlog(message):
            if message["type"] in _AFTER_ACCEPT and backlog.close_sent():
                # A frame racing the close (a neighbour's move as the player
                # leaves): nobody to send it to, and uvicorn would raise.
                logs.count("websocket.sent_after_close")
                return
            if message["type"] == "websocket.send":
                # Characters, not bytes: frames are JSON, nearly all ASCII.
                size = len(message.get("text") or message.get("bytes") or "")
                if not backlog.admits(size):
                    return
            elif backlog.dropped:
                return
            await send(message)
            if message["type"] == "websocket.accept":
                backlog.watch()

        return await self.application(scope, receive, send_within_backlog)
