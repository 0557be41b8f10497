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
wraps `send`) are not recognised and not bounded.
"""

import asyncio
import functools
import logging

from django.conf import settings
from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

logger = logging.getLogger(__name__)


class _Backlog:
    """What one connection owes its client; `admits` drops the connection past the limit."""

    def __init__(self, limit: int):
        self.limit = limit
        self.dropped = False

    def watch(self) -> None:
        """Called once the connection is accepted."""

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


@implementer(IPushProducer)
class _PauseTracker:
    """
    Twisted keeps `producerPaused` up to date only for a transport with a
    producer. Daphne leaves the HTTP channel registered after the WebSocket
    upgrade; should it not, this stands in.
    """

    def pauseProducing(self):
        pass

    def resumeProducing(self):
        pass

    def stopProducing(self):
        pass


class DaphneBacklog(_Backlog):
    """Counts what the connection was handed while Twisted's buffer was over its mark."""

    def __init__(self, protocol, limit: int):
        super().__init__(limit)
        self.protocol = protocol
        self.bytes_while_behind = 0

    def watch(self) -> None:
        transport = self.protocol.transport
        if getattr(transport, "producer", False) is None:
            transport.registerProducer(_PauseTracker(), True)

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

    def __init__(self, transport: asyncio.WriteTransport, limit: int):
        super().__init__(limit)
        self.transport = transport

    def watch(self) -> None:
        # The server's `send` waits above the high-water mark; frames are
        # refused before the buffer gets there, so a send never waits.
        self.transport.set_write_buffer_limits(high=self.limit)

    def owed_after(self, frame_size: int) -> int:
        return self.transport.get_write_buffer_size() + frame_size

    def abort(self) -> None:
        self.transport.abort()


def backlog_of(send, limit: int) -> _Backlog | None:
    """The backlog of the connection behind an ASGI `send`, for the servers recognised."""
    # daphne passes `partial(server.handle_reply, protocol)` (an autobahn protocol).
    if isinstance(send, functools.partial) and send.args:
        protocol = send.args[0]
        if hasattr(protocol, "transport") and hasattr(protocol, "dropConnection"):
            return DaphneBacklog(protocol, limit)
    # uvicorn passes its protocol's bound `send`; the protocol holds the transport.
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if all(
        hasattr(transport, name)
        for name in ("get_write_buffer_size", "set_write_buffer_limits", "abort")
    ):
        return AsyncioBacklog(transport, limit)
    return None


class SendBacklogLimit:
    """ASGI middleware: drop WebSocket clients that fall too far behind."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        backlog = None
        if scope["type"] == "websocket":
            backlog = backlog_of(send, settings.WEBSOCKET_MAX_BACKLOG_BYTES)
        if backlog is None:
            return await self.application(scope, receive, send)

        async def send_within_backlog(message):
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
