"""
A bound on what a game socket may owe a client that does not read.

Daphne hands every frame to Twisted at once, and Twisted keeps in memory
whatever the client's TCP window does not take. A client that stops reading (a
stalled tab, a phone in a tunnel, a hostile peer) would make that buffer grow
for as long as its neighbours keep moving. Twisted marks a transport whose
buffer passed 64 KiB as paused until the buffer drains; a connection handed
more than WEBSOCKET_MAX_BACKLOG_BYTES while paused is dropped. Its client
reconnects and resumes from its stored position, which costs far less than
queueing the world's traffic for it.

Under another ASGI server the limit does not apply (only daphne's connections
are recognised); such servers make `send` wait instead.
"""

import functools
import logging

from django.conf import settings
from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

logger = logging.getLogger(__name__)


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


class SendBacklog:
    """What one connection was handed while its client was not keeping up."""

    def __init__(self, protocol, limit: int):
        self.protocol = protocol
        self.limit = limit
        self.bytes_while_behind = 0
        self.dropped = False

    def watch(self) -> None:
        transport = self.protocol.transport
        if getattr(transport, "producer", False) is None:
            transport.registerProducer(_PauseTracker(), True)

    def admits(self, frame_size: int) -> bool:
        """False once the client owes more than the limit: the connection is then dropped."""
        if self.dropped:
            return False
        if not getattr(self.protocol.transport, "producerPaused", False):
            self.bytes_while_behind = 0
            return True
        self.bytes_while_behind += frame_size
        if self.bytes_while_behind <= self.limit:
            return True
        logger.warning(
            "dropping a WebSocket client that stopped reading (%d bytes waiting for it)",
            self.bytes_while_behind,
        )
        self.dropped = True
        # Abort: a close frame would wait behind everything the client never read.
        self.protocol.dropConnection(abort=True)
        return False


def _daphne_protocol(send):
    """
    The daphne (autobahn) connection behind an ASGI `send`: daphne passes
    `partial(server.handle_reply, protocol)`. None under another server.
    """
    if isinstance(send, functools.partial) and send.args:
        protocol = send.args[0]
        if hasattr(protocol, "transport") and hasattr(protocol, "dropConnection"):
            return protocol
    return None


class SendBacklogLimit:
    """ASGI middleware: drop WebSocket clients that fall too far behind."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        protocol = _daphne_protocol(send) if scope["type"] == "websocket" else None
        if protocol is None:
            return await self.application(scope, receive, send)
        backlog = SendBacklog(protocol, settings.WEBSOCKET_MAX_BACKLOG_BYTES)

        async def send_within_backlog(message):
            if message["type"] == "websocket.send":
                # Characters, not bytes: frames are JSON, nearly all ASCII.
                size = len(message.get("text") or message.get("bytes") or "")
                if not backlog.admits(size):
                    return
            await send(message)
            if message["type"] == "websocket.accept":
                backlog.watch()

        return await self.application(scope, receive, send_within_backlog)
