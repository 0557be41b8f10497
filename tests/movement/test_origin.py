"""The Origin check at the WebSocket handshake: browsers from other sites are refused."""

import pytest
from channels.testing import WebsocketCommunicator

from mmo.asgi import application

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def handshake(origin: str | None) -> bool:
    headers = [(b"origin", origin.encode("latin-1"))] if origin is not None else []
    communicator = WebsocketCommunicator(application, "/ws/game/", headers=headers)
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://localhost.evil.example",
        "null",  # sandboxed frames and file:// pages
        "not a url",
    ],
)
async def test_a_foreign_origin_is_refused(world, origin):
    assert not await handshake(origin)


@pytest.mark.parametrize("origin", ["http://localhost:8000", "https://127.0.0.1"])
async def test_an_origin_among_allowed_hosts_is_let_through(world, origin):
    assert await handshake(origin)


async def test_clients_without_an_origin_are_let_through(world):
    assert await handshake(None)


async def test_allowed_origins_can_name_the_sites_of_the_web_client(world, settings):
    settings.WEBSOCKET_ALLOWED_ORIGINS = ["https://play.example.com", ".game.example"]

    assert await handshake("https://play.example.com")
    assert await handshake("https://eu.game.example")
    assert not await handshake("http://play.example.com")  # another scheme, another origin
    assert not await handshake("https://play.example.com:8443")
    assert not await handshake("https://play.example.com:99999")  # no port at all
    assert not await handshake("http://localhost:8000")  # ALLOWED_HOSTS no longer apply
