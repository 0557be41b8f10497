"""
Simulated players against a running server, over real REST and WebSocket
connections: the engine of `manage.py simulate_players`.

Each player registers (or logs in) over REST, gets a flag of its own at a spot
scattered around the centre (written to the server's database, which this
process shares, so that players spread beyond the range of the start point),
connects the WebSocket, authenticates and walks: a random walk at walking
speed around its flag, within the movement rules. Latencies are measured from
timestamps carried in the frames (`sentAt`), on this machine's clock.

Players are dealt round-robin over the servers given, as a load balancer
would, and over worker processes, so that one event loop of this tool does
not become the limit it measures.
"""

import asyncio
import json
import math
import multiprocessing
import random
import statistics
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field

from websockets.asyncio.client import connect

try:  # the generator competes with the server for the CPU: its own event loop should be cheap
    from uvloop import run as run_loop
except ImportError:  # pragma: no cover (uvloop is a runtime dependency; not on every platform)
    run_loop = asyncio.run

WALKING_SPEED = 1.4  # metres per second
ROAM_RADIUS = 400.0  # metres around the player's own flag (the rule allows 600)
METRES_PER_DEGREE = 111_320.0


@dataclass
class Config:
    servers: tuple[str, ...]  # base URLs; players are dealt round-robin
    players: int
    duration: float
    move_rate: float  # moves per second per player
    ramp: float  # connections opened per second
    centre: tuple[float, float]  # lng, lat
    radius: float  # metres: players are scattered within it
    mix: dict[str, float]  # per tick: probability of chat, rest, flags
    password: str = "simulated-player-passphrase"
    prefix: str = field(default_factory=lambda: "sim" + uuid.uuid4().hex[:6])

    def server_of(self, index: int) -> str:
        return self.servers[index % len(self.servers)]


@dataclass
class Stats:
    started: float = field(default_factory=time.monotonic)
    connected: int = 0
    peak_connected: int = 0
    moves_sent: int = 0
    moves_acked: int = 0
    moves_rejected: int = 0
    errors: int = 0
    chats_sent: int = 0
    rest_calls: int = 0
    ack_ms: list = field(default_factory=list)  # (seconds since start, milliseconds)
    neighbour_ms: list = field(default_factory=list)
    rest_ms: list = field(default_factory=list)
    error_samples: list = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 20:
            self.error_samples.append(what)

    def now(self) -> float:
        return time.monotonic() - self.started

    def absorb(self, other: "Stats") -> None:
        """Add the figures of another worker that started at the same moment."""
        for name in ("connected", "peak_connected", "moves_sent", "moves_acked",
                     "moves_rejected", "errors", "chats_sent", "rest_calls"):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("ack_ms", "neighbour_ms", "rest_ms"):
            getattr(self, name).extend(getattr(other, name))
            getattr(self, name).sort()
        self.error_samples = (self.error_samples + other.error_samples)[:20]


def percentiles(samples) -> dict:
    values = sorted(ms for _, ms in samples)
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None, "count": 0}

    def at(fraction):
        return round(values[min(len(values) - 1, int(math.ceil(fraction * len(values))) - 1)], 2)

    return {
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": round(values[-1], 2),
        "mean": round(statistics.fmean(values), 2),
        "count": len(values),
    }


def http_json(method: str, url: str, body=None, token=None, timeout=30.0):
    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def scatter(config: Config, rng: random.Random) -> tuple[float, float]:
    """A spot uniformly spread within `radius` metres of the centre."""
    distance = config.radius * math.sqrt(rng.random())
    bearing = rng.uniform(0, 2 * math.pi)
    lng0, lat0 = config.centre
    lat = lat0 + distance * math.cos(bearing) / METRES_PER_DEGREE
    lng = lng0 + distance * math.sin(bearing) / (METRES_PER_DEGREE * math.cos(math.radians(lat0)))
    return lng, lat


# One placement at a time: the embedded database (SQLite) takes one writer, and
# the server writes beside this tool.
_settling = threading.Lock()


def settle(player_id: str, lng: float, lat: float) -> None:
    """Give the player a flag at the spot and stand them on it (the server's database)."""
    with _settling:
        _settle(player_id, lng, lat)


def _settle(player_id: str, lng: float, lat: float) -> None:
    from django.db import connection, transaction

    from flags.models import Flag
    from mmo.geo import point
    from movement.models import PlayerPosition

    try:
        with transaction.atomic():
            Flag.objects.filter(owner_id=player_id).delete()
            Flag.objects.create(
                owner_id=player_id, name="Simulation base", location=point(lng, lat)
            )
            PlayerPosition.objects.filter(pk=player_id).update(location=point(lng, lat), version=0)
    finally:
        # This runs in a worker thread that ends with the run: give the
        # connection back rather than leave it checked out of the pool.
        connection.close()


class SimulatedPlayer:
    def __init__(self, index: int, config: Config, stats: Stats, rng: random.Random):
        self.index, self.config, self.stats, self.rng = index, config, stats, rng
        self.username = f"{config.prefix}_{index}"
        self.server = config.server_of(index)
        self.pending: dict[int, float] = {}  # seq → send time
        self.seq = 0
        self.area = None  # from the server's acks: area chat needs one

    async def prepare(self) -> None:
        body = {
            "username": self.username,
            "email": f"{self.username}@example.com",
            "password": self.config.password,
        }
        status, answer = await asyncio.to_thread(
            http_json, "POST", f"{self.server}/api/auth/register/", body
        )
        if status != 201:
            raise RuntimeError(f"register {self.username}: {status} {answer}")
        self.player_id = answer["player"]["id"]
        self.token = answer["access"]
        self.base = scatter(self.config, self.rng)
        self.lng, self.lat = self.base
        await asyncio.to_thread(settle, self.player_id, *self.base)

    async def run(self, until: float) -> None:
        ws_url = self.server.replace("http://", "ws://").replace("https://", "wss://")
        async with connect(f"{ws_url}/ws/game/", max_queue=None) as socket:
            await socket.send(json.dumps({"type": "authenticate", "data": {"token": self.token}}))
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
            if self.distance_from_base(lng, lat) > ROAM_RADIUS:
                heading += math.pi  # turn back towards the flag
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
        async for text in socket:
            received = time.time() * 1000
            message = json.loads(text)
            kind, data = message["type"], message["data"]
            if kind == "move-ack":
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
            elif kind == "player-moved" and "sentAt" in data:
                self.stats.neighbour_ms.append((self.stats.now(), received - data["sentAt"]))
            elif kind == "error":
                self.stats.error(f"{data.get('code')}: {data.get('message')}")


def run(config: Config, workers: int = 1, progress=None) -> dict:
    """Simulate `config.players` players, playing in `workers` processes; the report."""
    players = run_loop(prepare(config))
    workers = min(workers, config.players)
    if workers <= 1:
        stats = run_loop(play(config, players, progress))
    else:
        stats = _play_in_workers(config, players, workers, progress)
    return report(config, stats)


async def prepare(config: Config) -> list[SimulatedPlayer]:
    """Register and place every player (a few at a time: each registration hashes a password)."""
    rng = random.Random(config.prefix)
    players = [
        SimulatedPlayer(n, config, Stats(), random.Random(rng.random()))
        for n in range(config.players)
    ]
    semaphore = asyncio.Semaphore(8)

    async def prepare_one(player):
        async with semaphore:
            await player.prepare()

    await asyncio.gather(*(prepare_one(player) for player in players))
    return players


async def play(config: Config, players, progress=None, start: float | None = None) -> Stats:
    """Connect the prepared players at the ramp rate and walk them until the run ends."""
    stats = Stats()
    for player in players:
        player.stats = stats
    if start is not None:
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        stats.started = start
    until = stats.started + config.duration
    tasks = []

    async def play_one(player):
        try:
            await player.run(until)
        except Exception as error:  # one player's failure is a figure, not the end of the run
            stats.error(f"{player.username}: {type(error).__name__}: {error}")

    reporter = asyncio.create_task(_report_progress(stats, until, progress)) if progress else None
    for player in players:
        tasks.append(asyncio.create_task(play_one(player)))
        # The ramp is for the whole run; each worker opens its share of connections.
        await asyncio.sleep(config.players / len(players) / config.ramp)
    await asyncio.gather(*tasks)
    if reporter:
        reporter.cancel()
    return stats


def _play_in_workers(config: Config, players, workers: int, progress) -> Stats:
    """
    Deal the players over forked processes that start together. The database
    work is done by then: a forked child must not use its parent's connections.
    """
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    start = time.monotonic() + 1.0
    pipes, processes = [], []
    for worker in range(workers):
        label = f"[worker {worker + 1}/{workers}] "
        worker_progress = (lambda line, label=label: progress(label + line)) if progress else None
        ours, theirs = context.Pipe(duplex=False)
        process = context.Process(
            target=_worker,
            args=(config, players[worker::workers], start, theirs, worker_progress),
        )
        process.start()
        pipes.append(ours)
        processes.append(process)
    try:
        stats = Stats(started=start)
        for pipe in pipes:
            outcome = pipe.recv()
            if isinstance(outcome, BaseException):
                raise outcome
            stats.absorb(outcome)
        return stats
    finally:
        for process in processes:
            process.join(timeout=30)


def _worker(config: Config, players, start: float, pipe, progress) -> None:
    try:
        pipe.send(run_loop(play(config, players, progress, start)))
    except Exception as error:
        pipe.send(RuntimeError(f"a simulation worker failed: {type(error).__name__}: {error}"))


async def _report_progress(stats: Stats, until: float, progress) -> None:
    while time.monotonic() < until:
        await asyncio.sleep(1.0)
        recent = [ms for at, ms in stats.ack_ms if at > stats.now() - 2]
        progress(
            f"{stats.now():6.1f}s connected {stats.connected:5d}  sent {stats.moves_sent:7d}  "
            f"acked {stats.moves_acked:7d}  rejected {stats.moves_rejected:5d}  "
            f"errors {stats.errors:4d}  ack p50 {statistics.median(recent) if recent else 0:6.1f} ms"
        )


def report(config: Config, stats: Stats) -> dict:
    elapsed = max(stats.now(), 1e-9)
    return {
        "servers": list(config.servers),
        "players": config.players,
        "duration_s": round(elapsed, 2),
        "move_rate": config.move_rate,
        "connected": stats.peak_connected,
        "moves_sent": stats.moves_sent,
        "moves_acked": stats.moves_acked,
        "moves_rejected": stats.moves_rejected,
        "acked_share": round(stats.moves_acked / stats.moves_sent, 5) if stats.moves_sent else None,
        "moves_per_s": round(stats.moves_acked / elapsed, 1),
        "errors": stats.errors,
        "error_samples": stats.error_samples,
        "chats_sent": stats.chats_sent,
        "rest_calls": stats.rest_calls,
        "ack_ms": percentiles(stats.ack_ms),
        "neighbour_ms": percentiles(stats.neighbour_ms),
        "rest_ms": percentiles(stats.rest_ms),
        "series": {
            "ack_ms": stats.ack_ms[:: max(1, len(stats.ack_ms) // 5000)],
            "neighbour_ms": stats.neighbour_ms[:: max(1, len(stats.neighbour_ms) // 5000)],
        },
    }


def plot(result: dict, path: str) -> None:
    """Latency over time and its histogram, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (over_time, histogram) = plt.subplots(1, 2, figsize=(13, 4.5))
    for name, colour in (("ack_ms", "tab:blue"), ("neighbour_ms", "tab:orange")):
        series = result["series"][name]
        if series:
            over_time.scatter(
                [at for at, _ in series], [ms for _, ms in series], s=2, alpha=0.4, c=colour,
                label=name.replace("_ms", ""),
            )  # fmt: skip
            histogram.hist([ms for _, ms in series], bins=60, alpha=0.6, color=colour, label=name)
    over_time.set_xlabel("seconds")
    over_time.set_ylabel("latency (ms)")
    over_time.set_yscale("log")
    over_time.legend()
    histogram.set_xlabel("latency (ms)")
    histogram.set_yscale("log")
    histogram.legend()
    figure.suptitle(
        f"{result['players']} players, {result['move_rate']} moves/s each: "
        f"{result['moves_per_s']} acked moves/s; p99 ack {result['ack_ms']['p99']} ms, "
        f"p99 neighbour {result['neighbour_ms']['p99']} ms"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
