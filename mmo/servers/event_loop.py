"""
The production server's event loop: uvloop, with servers that take up to
64 waiting connections a turn of the loop instead of one.

libuv, under uvloop, accepts one connection per turn of its loop (since libuv
1.45: "unix: don't accept() connections in a loop"). A turn of a process with
a thousand players moving lasts about 40 ms on two busy cores, so the process
took 25 new connections a second, however many waited: measured in the ramp
of `bench/capacity.py --players 1000`, the kernel's queue of connections not
yet accepted grew to 419 and a handshake waited 10 s, past the clients'
timeout, while the players already in were answered within 200 ms. In a
reconnect storm every player of a dead process waits in that queue.

The servers of this loop accept in Python, on the loop's own readiness
callback: up to ACCEPTS_PER_TURN waiting connections a turn, each handed to
the loop as an accepted socket (`connect_accepted_socket`), on which uvloop
runs its own transport as for the connections it accepts itself. Not every
waiting connection in one turn: the 500 connections of a login storm, all
accepted at once, were set up, read and answered (490 of them refused at the
door) in turns of 30–70 ms that every move of the players already in waited
behind; 64 a turn, about 20 ms. Fewer are not better: at 16 a turn the
players of a killed process took a third longer to be back on the survivor.
Only public interfaces: uvicorn takes this loop with
`--loop mmo.servers.event_loop:new_event_loop` (deploy/serve.sh) and creates
its listening sockets through `create_server`.
TLS is left to the load balancer, as docs/operations.md has it; a server
asked for TLS or for options it does not know is uvloop's own.
"""

import asyncio
import errno
import logging
import socket

import uvloop

logger = logging.getLogger(__name__)

# Errors of accept() that a wait may cure (file descriptors or memory run
# out): the server stops accepting for a moment instead of spinning.
_RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
RESOURCE_RETRY_S = 1.0
# Connections accepted in one turn of the loop, at most; the listening socket
# stays readable, so the next turn takes the next ones.
ACCEPTS_PER_TURN = 64


class Loop(uvloop.Loop):
    async def create_server(
        self,
        protocol_factory,
        host=None,
        port=None,
        *,
        sock=None,
        backlog=100,
        ssl=None,
        **options,
    ):
        if ssl is not None or options:
            return await super().create_server(
                protocol_factory, host, port, sock=sock, backlog=backlog, ssl=ssl, **options
            )
        sockets = [sock] if sock is not None else await self._listening_sockets(host, port)
        server = GreedyServer(self, sockets, protocol_factory, backlog)
        server.start_accepting()
        return server

    async def _listening_sockets(self, host, port) -> list[socket.socket]:
        """A bound socket per address of `host`, as asyncio's own `create_server` binds them."""
        if host == "":
            host = None
        hosts = [host] if host is None or isinstance(host, str) else list(host)
        addresses = {}  # each address bound once, however many names resolve to it
        for name in hosts:
            for family, kind, proto, _, address in await self.getaddrinfo(
                name, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            ):
                addresses.setdefault((family, address), (kind, proto))
        sockets = []
        try:
            for (family, address), (kind, proto) in addresses.items():
                try:
                    listening = socket.socket(family, kind, proto)
                except OSError:
                    continue  # a family this host does not have (IPv6 turned off)
                sockets.append(listening)
                listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    listening.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                try:
                    listening.bind(address)
                except OSError as error:
                    raise OSError(
                        error.errno, f"error while attempting to bind on address {address!r}"
                    ) from None
        except OSError:
            for listening in sockets:
                listening.close()
            raise
        if not sockets:
            raise OSError(f"no address to listen on for {host!r}")
        return sockets


def new_event_loop() -> Loop:
    """uvicorn's loop factory (`--loop mmo.servers.event_loop:new_event_loop`)."""
    return Loop()


class GreedyServer(asyncio.AbstractServer):
    """Listening sockets whose waiting connections are accepted ACCEPTS_PER_TURN a turn."""

    def __init__(self, loop: Loop, sockets: list[socket.socket], protocol_factory, backlog: int):
        self._loop = loop
        self._sockets = sockets
        self._protocol_factory = protocol_factory
        self._backlog = backlog
        self._serving = False
        self._connecting: set[asyncio.Task] = set()

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return tuple(self._sockets)

    def get_loop(self):
        return self._loop

    def is_serving(self) -> bool:
        return self._serving

    def start_accepting(self) -> None:
        if self._serving:
            return
        self._serving = True
        for listening in self._sockets:
            listening.setblocking(False)
            listening.listen(self._backlog)
            self._loop.add_reader(listening.fileno(), self._accept, listening)

    async def start_serving(self) -> None:
        self.start_accepting()

    async def serve_forever(self) -> None:
        self.start_accepting()
        await asyncio.Future()

    def _accept(self, listening: socket.socket) -> None:
        for _ in range(ACCEPTS_PER_TURN):
            try:
                connection, _ = listening.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue  # the client gave up while it waited
            except OSError as error:
                if error.errno not in _RESOURCE_ERRORS:
                    raise
                logger.error("cannot accept connections for %.0f s: %s", RESOURCE_RETRY_S, error)
                self._loop.remove_reader(listening.fileno())
                self._loop.call_later(RESOURCE_RETRY_S, self._resume, listening)
                return
            # uvloop's transport makes it non-blocking and turns Nagle off, as for its own.
            task = self._loop.create_task(self._connect(connection))
            self._connecting.add(task)
            task.add_done_callback(self._connecting.discard)

    def _resume(self, listening: socket.socket) -> None:
        if self._serving:
            self._loop.add_reader(listening.fileno(), self._accept, listening)

    async def _connect(self, connection: socket.socket) -> None:
        # A connection accepted just before the server closed would open after
        # uvicorn told the open ones to shut down, and hold up its shutdown.
        if not self._serving:
            connection.close()
            return
        try:
            transport, _ = await self._loop.connect_accepted_socket(
                self._protocol_factory, connection
            )
        except Exception:
            logger.exception("could not serve an accepted connection")
            connection.close()
            return
        if not self._serving:
            transport.abort()

    def close(self) -> None:
        if not self._sockets:
            return
        self._serving = False
        for listening in self._sockets:
            if listening.fileno() != -1:
                self._loop.remove_reader(listening.fileno())
                listening.close()
        self._sockets = []

    async def wait_closed(self) -> None:
        if self._connecting:
            await asyncio.gather(*self._connecting, return_exceptions=True)
