"""
One simulated player: registers and settles over REST, then walks over the
WebSocket. Latencies are measured from timestamps carried in the frames
(`sentAt`), on this machine's clock.
"""

import asyncio
import collections
import json
import math
import random
import time

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from loadtest.config import Config
from loadtest.rest import http_json, register
from loadtest.stats import Stats
from loadtest.world import METRES_PER_DEGREE, scatter, settle

WALKING_SPEED = 1.4  # metres per second
ROAM_RADIUS = 400.0  # metres around the player's base (the movement rule allows 600)
# Whether a client hears a player at full rate is also counted per window of
# this many seconds: over a whole run, neighbours walk in and out of anyone's
# nearest, and a window shows what is heard at any one time.
HEARING_WINDOW_S = 5.0

# Moves are most of what a client receives. The tool only needs each move's
# mover and `sentAt`, and reading them out of the text costs about a third of
# decoding the whole frame: on the machine that runs the server too, the
# tool's own time is part of the latencies it measures.
_MOVE_FRAME, _MOVES_FRAME = '{"type":"player-moved",', '{"type":"players-moved",'
_MOVER, _SENT_AT = '"playerId":"', '"sentAt":'
# A players-moved entry: [playerId, lat, lng, direction, timestamp, sentAt?].
_ENTRY, _SENT_AT_FIELD = '["', 4


def wait_after_refusal(retry_after: str | float) -> float:
    """
    Seconds a refused client waits: Retry-After, which the server spreads over
    the clients it refuses, and up to a second more, so that those told the
    same second do not all come back at the same instant.
    """
    return float(retry_after) + random.random()


async def open_game_socket(url: str, until: float, **options):
    """
    The game's socket at `url`, opened as a client should: a handshake refused
    with 503 and Retry-After (a process with too many logins in hand) is tried
    again after that wait, with jitter, until `until` (monotonic) would pass.
    """
    while True:
        try:
            return await connect(url, **options)
        except InvalidStatus as refused:
            retry_after = refused.response.headers.get("Retry-After")
            if refused.response.status_code != 503 or retry_after is None:
                raise
            wait = wait_after_refusal(retry_after)
            if time.monotonic() + wait >= until:
                raise
            await asyncio.sleep(wait)


def moves_in(text: str) -> list[tuple[str, float | None]] | None:
    """(mover, sentAt) of each move in a `player-moved` or `players-moved` frame; None for others."""
    if text.startswith(_MOVES_FRAME):
        moves = []
        # Each piece is one entry, from its mover's id on.
        for piece in text.split(_ENTRY)[1:]:
            end = piece.find('"')
            fields = piece[end + 2 : piece.find("]", end)].split(",")
            sent_at = float(fields[_SENT_AT_FIELD]) if len(fields) > _SENT_AT_FIELD else None
            moves.append((piece[:end], sent_at))
        return moves
    if text.startswith(_MOVE_FRAME):
        begin = text.find(_MOVER) + len(_MOVER)
        end = text.find('"', begin)
        mover = text[begin:end]
        at = text.find(_SENT_AT, end)
        if at < 0:
            return [(mover, None)]
        start = at + len(_SENT_AT)
        stop = text.find("}", start)
        comma = text.find(",", start, stop)
        return [(mover, float(text[start : stop if comma < 0 else comma]))]
    return None


class SimulatedPlayer:
    def __init__(self, index: int, config: Config, stats: Stats, rng: random.Random):
        self.index, self.config, self.stats, self.rng = index, config, stats, rng
        self.username = f"{config.prefix}_{index}"
        self.server = config.server_of(index)
        self.pending: dict[int, float] = {}  # seq → send time
        self.seq = 0
        self.area = None  # from the server's acks: area chat needs one
        self.refusal = None  # the code of the server's refusal of this player's flag
        # What this client received once every player had connected (--ramp):
        # moves heard, of whom, and bytes.
        self.heard_from: collections.Counter = collections.Counter()
        self.bytes_received = 0
        self.acked_in_window = 0  # this client's own moves, the measure of a full move rate
        # The same per HEARING_WINDOW_S: window number → movers heard, own moves acked.
        self.heard_in_windows: dict[int, collections.Counter] = {}
        self.acked_in_windows: collections.Counter = collections.Counter()

    async def prepare(self) -> None:
        self.player_id, self.token = await asyncio.to_thread(
            register, self.server, self.username, self.config.password
        )
        if self.config.crowd:
            status, spawn = await asyncio.to_thread(
                http_json, "GET", f"{self.server}/api/players/me/position/", None, self.token
            )
            if status != 200:
                raise RuntimeError(f"GET /api/players/me/position/: {status} {spawn}")
            self.base = self.lng, self.lat = spawn["lng"], spawn["lat"]
            return
        spot = scatter(self.config.centre, self.config.radius, self.rng)
        settled = await asyncio.to_thread(settle, self.server, self.token, *spot)
        self.base = (settled.lng, settled.lat)
        self.lng, self.lat = self.base
        self.refusal = settled.refusal

    def account(self) -> dict:
        """What --accounts keeps of a player for later runs."""
        return {
            "username": self.username,
            "player_id": self.player_id,
            "token": self.token,
            "base": self.base,
        }

    def resume(self, account: dict) -> None:
        """A player of an earlier run: it starts where it stands and roams around its base."""
        self.username, self.player_id, self.token = (
            account["username"], account["player_id"], account["token"]
        )  # fmt: skip
        self.base = tuple(account["base"])
        status, position = http_json(
            "GET", f"{self.server}/api/players/me/position/", None, self.token
        )
        if status != 200:
            raise RuntimeError(f"GET /api/players/me/position/ for {self.username}: {status}")
        self.lng, self.lat = position["lng"], position["lat"]

    async def run(self, until: float) -> None:
        ws_url = self.server.replace("http://", "ws://").replace("https://", "wss://")
        socket = await open_game_socket(f"{ws_url}/ws/game/", until, max_queue=None)
        async with socket:
            authenticate = {"token": self.token}
            if self.config.batched:
                authenticate["batchMoves"] = True
            await socket.send(json.dumps({"type": "authenticate", "data": authenticate}))
            reply = json.loads(await socket.recv())
            if reply["type"] != "authenticated":
                raise RuntimeError(f"authenticate {self.username}: {reply}")
            self.stats.connected += 1
            self.stats.peak_connected = max(self.stats.peak_connected, self.stats.connected)
            receiver = asyncio.create_task(self.receive(socket))
            try:
                await self.walk(socket, until)
            finally:
                receiver.cancel()
                self.stats.connected -= 1
            self.stats.received(self, until, HEARING_WINDOW_S)

    async def walk(self, socket, until: float) -> None:
        interval = 1.0 / self.config.move_rate
        heading = self.rng.uniform(0, 2 * math.pi)
        await asyncio.sleep(self.rng.uniform(0, interval))
        last = time.monotonic()
        while time.monotonic() < until:
            now = time.monotonic()
            step = WALKING_SPEED * (now - last)
            last = now
            heading += self.rng.gauss(0, 0.4)
            lng, lat = self.step(heading, step)
            roam = min(self.config.radius, ROAM_RADIUS) if self.config.crowd else ROAM_RADIUS
            if self.distance_from_base(lng, lat) > roam:
                heading += math.pi  # turn back towards the base
                lng, lat = self.step(heading, step)
            self.lng, self.lat = lng, lat
            self.seq += 1
            sent = time.time() * 1000
            self.pending[self.seq] = sent
            await socket.send(
                json.dumps(
                    {
                        "type": "player-move",
                        "data": {
                            "position": {"lat": lat, "lng": lng},
                            "direction": math.degrees(heading) % 360,
                            "seq": self.seq,
                            "sentAt": sent,
                        },
                    }
                )
            )
            self.stats.moves_sent += 1
            await self.extra(socket)
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - now)))

    def step(self, heading: float, metres: float) -> tuple[float, float]:
        lat = self.lat + metres * math.cos(heading) / METRES_PER_DEGREE
        lng = self.lng + metres * math.sin(heading) / (
            METRES_PER_DEGREE * math.cos(math.radians(self.lat))
        )
        return lng, lat

    def distance_from_base(self, lng: float, lat: float) -> float:
        d_lat = (lat - self.base[1]) * METRES_PER_DEGREE
        d_lng = (lng - self.base[0]) * METRES_PER_DEGREE * math.cos(math.radians(lat))
        return math.hypot(d_lat, d_lng)

    async def extra(self, socket) -> None:
        """The --mix: now and then an area chat message, a REST read or a flag listing."""
        mix = self.config.mix
        if self.area and self.rng.random() < mix.get("chat", 0):
            await socket.send(
                json.dumps({"type": "chat-message", "data": {"message": "hello", "scope": "area"}})
            )
            self.stats.chats_sent += 1
        if self.rng.random() < mix.get("flags", 0):
            box = {
                "minLat": self.lat - 0.005,
                "maxLat": self.lat + 0.005,
                "minLng": self.lng - 0.005,
                "maxLng": self.lng + 0.005,
            }
            await socket.send(json.dumps({"type": "get-flags", "data": {"boundingBox": box}}))
        if self.rng.random() < mix.get("rest", 0):
            asyncio.create_task(self.rest_read())

    async def rest_read(self) -> None:
        started = time.perf_counter()
        status, _ = await asyncio.to_thread(
            http_json, "GET", f"{self.server}/api/players/me/", None, self.token
        )
        self.stats.rest_calls += 1
        if status == 200:
            self.stats.rest_ms.append((self.stats.now(), (time.perf_counter() - started) * 1000))
        else:
            self.stats.error(f"GET /api/players/me/ answered {status}")

    async def receive(self, socket) -> None:
        steady_from = self.stats.steady_from(self.config)
        async for text in socket:
            received = time.time() * 1000
            since_steady = time.monotonic() - steady_from
            counted = since_steady >= 0
            if counted:
                self.bytes_received += len(text)  # frames are JSON, nearly all ASCII
                window = int(since_steady // HEARING_WINDOW_S)
            moves = moves_in(text)
            if moves is not None:
                if counted:
                    heard = self.heard_in_windows.get(window)
                    if heard is None:
                        heard = self.heard_in_windows[window] = collections.Counter()
                for player_id, sent_at in moves:
                    if counted:
                        self.heard_from[player_id] += 1
                        heard[player_id] += 1
                    if sent_at is not None:
                        self.stats.neighbour_ms.append((self.stats.now(), received - sent_at))
                continue
            message = json.loads(text)
            kind, data = message["type"], message["data"]
            if kind == "move-ack":
                if counted:
                    self.acked_in_window += 1
                    self.acked_in_windows[window] += 1
                sent = self.pending.pop(data.get("seq"), None)
                self.stats.moves_acked += 1
                self.area = data.get("area")
                if sent is not None:
                    self.stats.ack_ms.append((self.stats.now(), received - sent))
            elif kind == "move-rejected":
                self.pending.pop(data.get("seq"), None)
                self.stats.moves_rejected += 1
                position = data["position"]
                self.lng, self.lat = position["lng"], position["lat"]
            elif kind == "error":
                self.stats.error(f"{data.get('code')}: {data.get('message')}")
