"""WebSocket test helpers: a fake server clock, the World of the test, connected clients."""

import collections

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from mmo.asgi import application
from movement.world import live_world
from tests.conftest import login_tokens
from tests.factories import PlayerFactory


class FakeClock:
    """Server time that moves only when a test says so."""

    def __init__(self, start: float = 1000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest_asyncio.fixture
async def world():
    """This test's World, on a fake clock; stopped (and flushed) at the end."""
    world = live_world()
    world.clock = FakeClock()
    # Stored positions then look brand new: a connection starts with the bare
    # jitter allowance, whatever time the test took to set up.
    world.wall_clock = world.clock
    await world.presence.clear()
    yield world
    await world.stop()


class Client:
    """A WebSocket connection of one player, speaking the protocol."""

    def __init__(self, communicator: WebsocketCommunicator, player=None, login=None):
        self.communicator = communicator
        self.player = player
        self.login = login
        # Frames that arrived while waiting for the answer to a move.
        self.backlog: collections.deque[dict] = collections.deque()

    async def send(self, message_type: str, data=None):
        await self.communicator.send_json_to({"type": message_type, "data": data or {}})

    async def send_text(self, text: str):
        await self.communicator.send_to(text_data=text)

    async def receive(self, timeout: float = 2.0) -> dict:
        if self.backlog:
            return self.backlog.popleft()
        return await self.communicator.receive_json_from(timeout=timeout)

    async def receive_type(self, message_type: str, timeout: float = 2.0) -> dict:
        """The next frame of this type; frames of other types before it are skipped."""
        while True:
            message = await self.receive(timeout)
            if message["type"] == message_type:
                return message["data"]

    async def nothing_more(self, timeout: float = 0.3) -> bool:
        return not self.backlog and await self.communicator.receive_nothing(timeout=timeout)

    async def move(self, lng: float, lat: float, **extra) -> dict:
        """The answer to the move; what others did meanwhile stays to be received."""
        await self.send("player-move", {"position": {"lat": lat, "lng": lng}, **extra})
        heard = []
        while True:
            message = await self.communicator.receive_json_from(timeout=2.0)
            if message["type"] in ("move-ack", "move-rejected", "error"):
                self.backlog.extend(heard)
                return message
            heard.append(message)

    async def close(self):
        await self.communicator.disconnect()


async def open_socket(headers=None) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/game/", headers=headers or [])
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def new_player(**fields):
    player = await database_sync_to_async(PlayerFactory)(**fields)
    login = await database_sync_to_async(login_tokens)(player)
    return player, login


@pytest.fixture
def connect(world):
    """`await connect()` → an authenticated Client of a new player (or of `player`)."""
    opened = []

    async def connect_(player=None, login=None, **fields):
        if player is None:
            player, login = await new_player(**fields)
        elif login is None:
            login = await database_sync_to_async(login_tokens)(player)
        communicator = await open_socket()
        client = Client(communicator, player, login)
        await client.send("authenticate", {"token": login.tokens.access})
        authenticated = await client.receive()
        assert authenticated["type"] == "authenticated", authenticated
        client.authenticated = authenticated["data"]
        opened.append(client)
        return client

    yield connect_
