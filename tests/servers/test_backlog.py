"""
The bound on a stalled client, through the real servers' classes in this
process: uvicorn's websockets-sansio protocol on a real socket, and daphne's
WebSocket protocol (autobahn) on a real Twisted TCP transport. They fail when
an upgrade takes away what mmo/servers/backlog.py reads.
"""

import asyncio
import base64
import os
import socket
import time
from functools import partial

import pytest
from daphne.http_protocol import HTTPFactory
from daphne.server import Server as DaphneServer
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from twisted.internet import tcp
from twisted.internet.testing import MemoryReactorClock
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from mmo import logs
from mmo.servers.backlog import AsyncioBacklog, DaphneBacklog, SendBacklogLimit, backlog_of
from mmo.servers.startup import probe_uvicorn_protocol
from tests.servers.real_servers import uvicorn_serving

LIMIT = 256 * 1024
FRAME = "x" * (16 * 1024)


@pytest.fixture(autouse=True)
def small_backlog_limit(settings):
    settings.WEBSOCKET_MAX_BACKLOG_BYTES = LIMIT


def handshake(host: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET /ws/ HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def server_sends(app, sends: list):
    """`app` behind SendBacklogLimit, noting the send each connection's server hands it."""
    bounded = SendBacklogLimit(app)

    async def noting(scope, receive, send):
        sends.append(send)
        return await bounded(scope, receive, send)

    return noting


def dropped(caplog) -> bool:
    return any("stopped reading" in record.getMessage() for record in caplog.records)


class FloodingApp:
    """Accepts, then sends frames until told it was disconnected or `frames` are sent."""

    def __init__(self, frames: int):
        self.frames = frames
        self.sent = 0
        self.longest_send = 0.0
        self.disconnected = asyncio.Event()
        self.done = asyncio.Event()

    async def __call__(self, scope, receive, send):
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        listening = asyncio.ensure_future(self.wait_for_disconnect(receive))
        try:
            while self.sent < self.frames and not self.disconnected.is_set():
                started = time.perf_counter()
                await send({"type": "websocket.send", "text": FRAME})
                self.longest_send = max(self.longest_send, time.perf_counter() - started)
                self.sent += 1
                await asyncio.sleep(0)  # let the server run, as other players' moves would
        finally:
            self.done.set()
            await asyncio.wait_for(listening, 5)

    async def wait_for_disconnect(self, receive):
        while (await receive())["type"] != "websocket.disconnect":
            pass
        self.disconnected.set()


# uvicorn ------------------------------------------------------------------------


async def stalled_client(port: int) -> socket.socket:
    """A client that completes the handshake, then never reads again."""
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(client, ("127.0.0.1", port))
    await loop.sock_sendall(client, handshake(f"127.0.0.1:{port}"))
    response = b""
    while b"\r\n\r\n" not in response:
        response += await loop.sock_recv(client, 1)  # not a byte past the handshake
    assert response.startswith(b"HTTP/1.1 101"), response
    return client


@pytest.mark.asyncio
async def test_uvicorn_drops_a_client_that_stopped_reading_without_ever_waiting(caplog):
    app, sends = FloodingApp(frames=2000), []  # 32 MiB: far more than the socket buffers hold

    async with uvicorn_serving(server_sends(app, sends)) as port:
        client = await stalled_client(port)
        try:
            await asyncio.wait_for(app.done.wait(), 20)
        finally:
            client.close()

    assert isinstance(backlog_of(sends[0], LIMIT), AsyncioBacklog)
    assert dropped(caplog)
    assert app.disconnected.is_set()
    assert app.sent < app.frames
    assert app.longest_send < 0.5  # never waited for the client


class ClosingApp:
    """Accepts, closes, then sends a frame and closes again, as a late delivery would."""

    def __init__(self):
        self.failure: Exception | None = None
        self.done = asyncio.Event()

    async def __call__(self, scope, receive, send):
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 4003})
        try:
            await send({"type": "websocket.send", "text": "a neighbour moved"})
            await send({"type": "websocket.close", "code": 4003})
        except Exception as error:
            self.failure = error
        finally:
            self.done.set()


@pytest.mark.asyncio
async def test_uvicorn_frames_after_the_close_are_dropped_and_counted():
    """A move delivered to a player whose socket just closed is no error (uvicorn raises one)."""
    app, sends = ClosingApp(), []
    before = logs.counted().get("websocket.sent_after_close", 0)

    async with uvicorn_serving(server_sends(app, sends)) as port:
        client = await stalled_client(port)
        try:
            await asyncio.wait_for(app.done.wait(), 10)
        finally:
            client.close()

    assert app.failure is None
    assert logs.counted()["websocket.sent_after_close"] == before + 2


@pytest.mark.asyncio
async def test_uvicorn_sansio_connections_are_recognised_with_the_state_the_adapter_reads():
    backlog = probe_uvicorn_protocol(WebSocketsSansIOProtocol)

    assert isinstance(backlog, AsyncioBacklog)
    assert backlog.protocol.transport is backlog.transport


# daphne -------------------------------------------------------------------------


class DaphneConnection:
    """
    A connection through daphne's own HTTP and WebSocket protocols (autobahn),
    upgraded as daphne upgrades it, on a Twisted TCP transport whose reactor
    never writes: a client that reads nothing.
    """

    def __init__(self, app):
        # Never run (it would start the reactor): its factories are made as run() makes them.
        self.server = DaphneServer(application=app, endpoints=["tcp:port=0"])
        self.server.connections = {}
        self.server.http_factory = HTTPFactory(self.server)
        self.server.ws_factory = WebSocketFactory(self.server, server=self.server.server_name)
        self.server.ws_factory.setProtocolOptions(allowNullOrigin=True)
        self.reactor = MemoryReactorClock()
        listening = socket.create_server(("127.0.0.1", 0))
        self.client = socket.create_connection(listening.getsockname())
        self.accepted, address = listening.accept()
        listening.close()
        http_protocol = self.server.http_factory.buildProtocol(address)
        self.transport = tcp.Server(self.accepted, http_protocol, address, None, 0, self.reactor)
        http_protocol.makeConnection(self.transport)
        http_protocol.dataReceived(handshake("127.0.0.1"))
        self.protocol = self.transport.protocol  # daphne's WebSocketProtocol now

    def close(self):
        self.client.close()
        self.accepted.close()


@pytest.mark.asyncio
async def test_daphne_drops_a_client_that_stopped_reading(caplog):
    app, sends = FloodingApp(frames=200), []  # 3.2 MiB
    connection = DaphneConnection(server_sends(app, sends))
    try:
        # The application task daphne started; Twisted runs on this loop's time here.
        for _ in range(2000):
            if app.done.is_set():
                break
            connection.reactor.advance(0)
            await asyncio.sleep(0)
    finally:
        connection.close()

    assert isinstance(backlog_of(sends[0], LIMIT), DaphneBacklog)
    assert dropped(caplog)
    assert app.sent < app.frames
    assert connection.transport.disconnected  # aborted: what it held is thrown away


@pytest.mark.asyncio
async def test_daphne_hands_applications_a_send_the_adapter_recognises():
    sends = []

    async def app(scope, receive, send):
        sends.append(send)

    connection = DaphneConnection(app)
    try:
        for _ in range(10):
            await asyncio.sleep(0)
    finally:
        connection.close()

    (send,) = sends
    assert isinstance(connection.protocol, WebSocketProtocol)
    assert isinstance(send, partial) and send.args == (connection.protocol,)
    assert isinstance(backlog_of(send, LIMIT), DaphneBacklog)
