"""
The direct frame writer: the frames it makes, read back as a WebSocket client
reads them, and its way through uvicorn's websockets-sansio protocol in this
process, for a bare application and for the game's.
"""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from mmo import logs
from mmo.asgi import application
from mmo.geo import point
from mmo.servers.backlog import WRITE_FRAME, AsyncioBacklog, SendBacklogLimit, text_frame
from movement.models import PlayerPosition
from tests.realtime import new_player
from tests.servers.real_servers import uvicorn_serving


def parsed(encoded: bytes) -> Frame:
    """The one frame `encoded` holds, as a WebSocket client reads it."""
    reader = StreamReader()
    reader.feed_data(encoded)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        while True:
            next(parser)
    except StopIteration as done:
        frame = done.value
    assert reader.at_eof(), "bytes left over after the frame"
    return frame


# Each length encoding of RFC 6455 (7 bits, 16 bits, 64 bits) on both sides of
# its bounds, counted in bytes of UTF-8.
@pytest.mark.smoke
@pytest.mark.parametrize(
    "text",
    ["", "x", "x" * 125, "x" * 126, "x" * 65535, "x" * 65536, "x" * 200_000, "é" * 63, "é" * 64],
    ids=lambda text: f"{len(text.encode())} bytes",
)
def test_a_text_frame_reads_back_as_the_whole_message(text):
    frame = parsed(text_frame(text))

    assert frame.opcode is Opcode.TEXT
    assert frame.fin
    assert not (frame.rsv1 or frame.rsv2 or frame.rsv3)
    assert frame.data.decode() == text


# The direct frame writer, through uvicorn's websockets-sansio protocol in this process.


def noting_writes(monkeypatch) -> list[tuple[bytes, bool]]:
    """Every frame handed to the direct writer, and whether it was written."""
    writes = []
    write_frame = AsyncioBacklog.write_frame

    def noted(backlog, frame):
        written = write_frame(backlog, frame)
        writes.append((frame, written))
        return written

    monkeypatch.setattr(AsyncioBacklog, "write_frame", noted)
    return writes


@pytest.mark.asyncio
async def test_uvicorn_connections_write_frames_directly_once_accepted():
    results = []
    long_text = "é" * 40_000  # a 64-bit length

    async def app(scope, receive, send):
        write_frame = scope[WRITE_FRAME]
        assert (await receive())["type"] == "websocket.connect"
        results.append(write_frame(text_frame("before the handshake")))
        await send({"type": "websocket.accept"})
        results.append(write_frame(text_frame("hello")))
        results.append(write_frame(text_frame(long_text)))
        while (await receive())["type"] != "websocket.disconnect":
            pass

    async with uvicorn_serving(SendBacklogLimit(app)) as port:
        async with connect(f"ws://127.0.0.1:{port}/") as client:
            heard = [await client.recv(), await client.recv()]

    assert results == [False, True, True]  # not before the handshake: sent the ordinary way
    assert heard == ["hello", long_text]


@pytest.mark.asyncio
async def test_frames_for_a_closing_uvicorn_connection_are_dropped_and_counted():
    """Nobody to send them to: no fallback through the server's send, which would raise."""
    results, failures = [], []
    before = logs.counted().get("websocket.sent_after_close", 0)

    async def app(scope, receive, send):
        write_frame = scope[WRITE_FRAME]
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        results.append(write_frame(text_frame("hello")))
        await send({"type": "websocket.close", "code": 1000})
        try:
            results.append(write_frame(text_frame("after the close")))
            results.append(write_frame(text_frame("and another")))
        except Exception as error:
            failures.append(error)

    async with uvicorn_serving(SendBacklogLimit(app)) as port:
        async with connect(f"ws://127.0.0.1:{port}/") as client:
            heard = [message async for message in client]

    assert failures == []
    assert results == [True, True, True]  # handled: written, then dropped
    assert heard == ["hello"]
    assert logs.counted()["websocket.sent_after_close"] == before + 2


@database_sync_to_async
def place(player, lng, lat):
    PlayerPosition.objects.filter(pk=player.pk).update(location=point(lng, lat))


async def game_client(port: int, token: str):
    client = await connect(f"ws://127.0.0.1:{port}/ws/game/")
    await client.send(json.dumps({"type": "authenticate", "data": {"token": token}}))
    assert json.loads(await client.recv())["type"] == "authenticated"
    return client


async def next_of_type(client, message_type: str) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(client.recv(), 5))
        if message["type"] == message_type:
            return message["data"]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_game_writes_a_move_s_ack_and_its_shared_frame_directly(world, monkeypatch):
    writes = noting_writes(monkeypatch)
    players = [await new_player() for _ in range(3)]
    for n, (player, _) in enumerate(players):
        await place(player, n * 0.0001, 0)  # about 11 m apart: all in one cell
    world.clock.advance(5)

    async with uvicorn_serving(application) as port:
        mover, *neighbours = [await game_client(port, login.tokens.access) for _, login in players]
        await mover.send(
            json.dumps({"type": "player-move", "data": {"position": {"lat": 0, "lng": 0.00001}}})
        )
        ack = await next_of_type(mover, "move-ack")
        heard = [await next_of_type(neighbour, "player-moved") for neighbour in neighbours]
        for client in (mover, *neighbours):
            await client.close()

    assert ack["position"] == {"lat": 0, "lng": 0.00001}
    assert {moved["playerId"] for moved in heard} == {str(players[0][0].pk)}
    written = [frame for frame, done in writes if done]
    assert any(b'"move-ack"' in frame for frame in written)
    shared = [frame for frame in written if b'"player-moved"' in frame]
    assert len(shared) == 2 and shared[0] is shared[1]  # encoded once for both neighbours
