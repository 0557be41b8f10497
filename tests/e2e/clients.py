"""
Clients of the real server for end-to-end tests: REST calls with urllib and
players speaking the game protocol over the `websockets` package.
"""

import asyncio
import json
import time

from channels.db import database_sync_to_async
from websockets.asyncio.client import connect

from loadtest.rest import http_json
from mmo.geo import point
from movement.models import PlayerPosition

DEG_PER_M = 1 / 111_319.49


def call(base_url, method, path, body=None, token=None):
    """(status, decoded JSON body) of one request; HTTP errors are answers, not exceptions."""
    return http_json(method, f"{base_url}{path}", body, token, timeout=10)


class Player:
    """A registered player with at most one game socket."""

    def __init__(self, server, name):
        status, body = call(
            server.url,
            "POST",
            "/api/auth/register/",
            {"username": name, "email": f"{name}@example.com", "password": "correct-horse-battery"},
        )
        assert status == 201, body
        self.id = body["player"]["id"]
        self.access = body["access"]
        self.socket = None

    async def connect(self, server, **authenticate):
        """Open a socket and authenticate; returns the `authenticated` data."""
        await self.open(server)
        return await self.authenticate(**authenticate)

    async def open(self, server, **options):
        self.socket = await connect(server.ws_url, **options)

    async def authenticate(self, **options):
        await self.send("authenticate", {"token": self.access, **options})
        reply = await self.receive()
        assert reply["type"] == "authenticated", reply
        return reply["data"]

    async def send(self, message_type, data=None):
        await self.socket.send(json.dumps({"type": message_type, "data": data or {}}))

    async def receive(self, timeout=3.0) -> dict:
        return json.loads(await asyncio.wait_for(self.socket.recv(), timeout))

    async def receive_type(self, message_type, timeout=3.0) -> dict:
        """The data of the next frame of this type; frames of other types are skipped."""
        deadline = time.monotonic() + timeout
        while True:
            message = await self.receive(max(0.0, deadline - time.monotonic()))
            if message["type"] == message_type:
                return message["data"]

    async def silent(self, message_type, seconds=0.7) -> bool:
        """True if no frame of this type arrives within `seconds`."""
        try:
            await self.receive_type(message_type, timeout=seconds)
        except TimeoutError:
            return True
        return False

    async def move(self, lng, lat):
        """Move and return the move-ack's data (a rejection fails the test)."""
        await self.send("player-move", {"position": {"lat": lat, "lng": lng}})
        while True:
            message = await self.receive()
            if message["type"] == "move-ack":
                return message["data"]
            assert message["type"] != "move-rejected", message

    async def listed_ids(self, box_degrees=0.01) -> set[str]:
        """Ids of the players `get-players` lists around the start point."""
        await self.send(
            "get-players",
            {
                "bounds": {
                    "minLat": -box_degrees,
                    "maxLat": box_degrees,
                    "minLng": -box_degrees,
                    "maxLng": box_degrees,
                }
            },
        )
        return {entry["playerId"] for entry in (await self.receive_type("players-list"))["players"]}

    async def close(self):
        if self.socket is not None:
            await self.socket.close()
            self.socket = None


@database_sync_to_async
def place(player, lng, lat):
    PlayerPosition.objects.filter(pk=player.id).update(location=point(lng, lat))


@database_sync_to_async
def stored(player):
    return PlayerPosition.objects.get(pk=player.id)
