"""
The production server's event loop (mmo/servers/event_loop.py): connections
waiting to be accepted are taken at once, however long a turn of the loop is.
Each case runs an event loop of its own.
"""

import asyncio
import itertools
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import uvloop

from mmo.servers.event_loop import ACCEPTS_PER_TURN, GreedyServer, new_event_loop

ROOT = Path(__file__).resolve().parents[2]
WAITING = 40


class Counted(asyncio.Protocol):
    made = 0

    def connection_made(self, transport):
        Counted.made += 1
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def turns_to_accept(waiting: int, served_by_turn: list | None = None) -> int:
    """
    Turns of a loop kept busy (5 ms of work a turn, as a loop with players
    has) that its server takes to accept `waiting` connections already queued;
    `served_by_turn` gets how many were being served at each turn.
    """
    loop = asyncio.get_running_loop()
    Counted.made = 0
    server = await loop.create_server(Counted, "127.0.0.1", 0, backlog=128)
    port = server.sockets[0].getsockname()[1]
    # Connected by the kernel, queued until the server accepts them.
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(waiting)]
    turns = 0
    done = loop.create_future()

    def busy_turn():
        nonlocal turns
        turns += 1
        if served_by_turn is not None:
            served_by_turn.append(Counted.made)
        time.sleep(0.005)
        if Counted.made >= waiting or turns >= 10 * waiting:
            done.set_result(turns)
        else:
            loop.call_soon(busy_turn)

    loop.call_soon(busy_turn)
    try:
        return await done
    finally:
        for client in clients:
            client.close()
        server.close()
        await server.wait_closed()


def run_in(loop, coroutine):
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()
        asyncio.set_event_loop(None)


def test_uvloop_itself_accepts_one_connection_a_turn():
    # The reason for mmo/servers/event_loop.py. Should an upgrade of uvloop (and
    # its libuv) accept in a loop again, this fails: the module may then go.
    turns = run_in(uvloop.new_event_loop(), turns_to_accept(WAITING))

    assert Counted.made == WAITING
    assert turns >= WAITING


def test_a_busy_loop_accepts_every_waiting_connection_within_a_few_turns():
    turns = run_in(new_event_loop(), turns_to_accept(WAITING))

    assert Counted.made == WAITING
    assert turns <= 5


def test_a_burst_of_connections_is_taken_a_few_at_a_time_between_other_work():
    # 500 connections of a login storm, all set up, read and answered in one
    # turn, held every player's move up for that long.
    waiting = 120  # within the listening socket's backlog (128): none waits for a SYN retry
    assert waiting > ACCEPTS_PER_TURN
    served_by_turn = []
    turns = run_in(new_event_loop(), turns_to_accept(waiting, served_by_turn))

    assert Counted.made == waiting
    taken_in_a_turn = [after - before for before, after in itertools.pairwise(served_by_turn)]
    assert max(taken_in_a_turn) <= ACCEPTS_PER_TURN
    assert turns <= waiting // ACCEPTS_PER_TURN + 3


def test_served_connections_echo_and_leave_no_descriptor_behind():
    async def round_trips(rounds: int, clients: int) -> list[int]:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Counted, "127.0.0.1", 0)
        assert isinstance(server, GreedyServer)
        port = server.sockets[0].getsockname()[1]
        open_descriptors = []
        for _ in range(rounds):
            streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(clients)]
            for _, writer in streams:
                writer.write(b"ping")
            for reader, _ in streams:
                assert await reader.readexactly(4) == b"ping"
            for _, writer in streams:
                writer.close()
                await writer.wait_closed()
            await asyncio.sleep(0.1)  # the server's side closes
            open_descriptors.append(len(os.listdir("/proc/self/fd")))
        server.close()
        await server.wait_closed()
        assert not server.is_serving()
        return open_descriptors

    open_descriptors = run_in(new_event_loop(), round_trips(rounds=3, clients=50))

    assert open_descriptors[0] == open_descriptors[-1]


def test_connections_accepted_as_the_server_closes_are_not_served():
    # uvicorn closes its servers, then tells the open connections to shut down:
    # one that opened after that would hold its graceful shutdown up.
    async def served_after_close() -> int:
        loop = asyncio.get_running_loop()
        Counted.made = 0
        server = await loop.create_server(Counted, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
        listening = server.sockets[0]
        server._accept(listening)  # accepted, not yet connected to a protocol
        server.close()
        await server.wait_closed()
        await asyncio.sleep(0.05)
        for client in clients:
            client.close()
        return Counted.made

    assert run_in(new_event_loop(), served_after_close()) == 0


def test_the_server_binds_every_address_of_its_host_once():
    async def bound(host) -> list:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Counted, host, 0)
        addresses = [listening.getsockname()[0] for listening in server.sockets]
        server.close()
        return addresses

    assert run_in(new_event_loop(), bound(["127.0.0.1", "127.0.0.1"])) == ["127.0.0.1"]


def test_uvicorn_serves_on_this_loop_as_deploy_serve_sh_asks():
    # uvicorn's --loop takes a loop factory by its import path; the server answers
    # a request through the loop's own server, and shuts down gracefully on SIGTERM
    # (uvicorn then ends by the signal, as on its own loops).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = "tests.servers.test_event_loop:hello"
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--lifespan", "off",
         "--loop", "mmo.servers.event_loop:new_event_loop", "--log-level", "info"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        answer = b""
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
                    client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    while chunk := client.recv(4096):
                        answer += chunk
                break
            except ConnectionRefusedError:
                time.sleep(0.1)
        assert answer.startswith(b"HTTP/1.1 200")
        assert b"on GreedyServer" in answer
    finally:
        server.terminate()
        try:
            _, log = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert "Finished server process" in log


async def hello(scope, receive, send):
    """An ASGI application naming the server that accepted its connection."""
    servers = {type(server).__name__ for server in _uvicorn_servers()}
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": f"on {','.join(servers)}".encode()})


def _uvicorn_servers():
    import gc

    import uvicorn

    for found in gc.get_objects():
        if isinstance(found, uvicorn.Server):
            yield from found.servers
