"""
The crowd's own work in one process, without sockets, server or load tool:
N batched players within R metres, each moving once a second as the load
tool's players walk, told through movement/crowd.py with its ticks, on a
simulated clock. Prints, per simulated second, the CPU of the crowd's part of
the moves and of the ticks (frames encoded, not written), the longest tick,
and what the clients heard: how old each move was when its frame left (the
tick's wait, and for far players how stale the move was), bytes per client,
and how many players each client heard at full rate (at least 80 % of their
moves) per 5 s and over the whole run.

    .venv/bin/python bench/crowd_sim.py --players 1000 --radius 200 --seconds 20

Figures that depend on neither the machine's load nor the load tool: the
age of what is heard and the players heard at full rate are the design's;
CPU is this process's own.
"""

import argparse
import asyncio
import collections
import math
import random
import statistics
import time

import _django  # noqa: F401
from django.conf import settings  # noqa: E402

from loadtest.players import moves_in  # noqa: E402
from mmo import realtime  # noqa: E402
from mmo.servers.backlog import text_frame  # noqa: E402
from movement.crowd import Crowd  # noqa: E402

METRES_PER_DEGREE = 111_319.49
WALKING_SPEED = 1.4
WINDOW_S = 5


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Live:
    def __init__(self, n: int, lng: float, lat: float, heading: float):
        self.player_id = f"player-{n:05d}"
        self.lng, self.lat, self.heading = lng, lat, heading


class Client:
    """A connection as the crowd sees it: frames are encoded as the server's are, then read."""

    def __init__(self, live: Live, hearing: "Hearing"):
        self.live = live
        self.hearing = hearing
        self.heard: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)

    async def send_shared(self, event: dict) -> None:
        encoded = event.get("encoded_frame")
        if encoded is None:
            encoded = event["encoded_frame"] = text_frame(event["frame"])
        self.hearing.add(self, event["frame"], len(encoded))


class Hearing:
    def __init__(self, clock: Clock):
        self.clock = clock
        self.recording = False
        self.started = 0.0
        self.ages_ms: list[float] = []
        self.bytes = 0
        self.reading_s = 0.0  # CPU spent reading frames here, not the crowd's

    def add(self, client: Client, frame: str, size: int) -> None:
        if not self.recording:
            return
        started = time.process_time()
        now_ms = self.clock.now * 1000
        window = int((self.clock.now - self.started) // WINDOW_S)
        for player_id, sent_at in moves_in(frame):
            self.ages_ms.append(now_ms - sent_at)
            client.heard[window][player_id] += 1
        self.bytes += size
        self.reading_s += time.process_time() - started


def percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(len(values) * fraction))]


async def simulate(players: int, radius: float, seconds: int, seed: int) -> None:
    rng = random.Random(seed)
    clock = Clock()
    crowd = Crowd(clock=clock)
    hearing = Hearing(clock)
    clients = []
    for n in range(players):
        metres, angle = radius * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        live = Live(
            n,
            metres * math.cos(angle) / METRES_PER_DEGREE,
            metres * math.sin(angle) / METRES_PER_DEGREE,
            rng.uniform(0, 2 * math.pi),
        )
        client = Client(live, hearing)
        clients.append(client)
        crowd.watch(client, live, realtime.cell_of(live.lng, live.lat), batched=True)
    listeners: dict[str, set] = {}
    for client in clients:
        for cell in realtime.cells_around(realtime.cell_of(client.live.lng, client.live.lat)):
            listeners.setdefault(realtime.cell_group(*cell), set()).add(client)
    phases = [rng.random() for _ in clients]
    tick_s = crowd.tick_period()  # as the server's ticker would for this many batched sockets

    async def play(duration: float) -> tuple[float, float, float]:
        moves_cpu = ticks_cpu = longest = 0.0
        for _ in range(round(duration / tick_s)):
            # Each player moves once a second, at its own moment within it;
            # the moves of a tick happen half way through it.
            tick_started = clock.now
            clock.now += tick_s / 2
            for client, phase in zip(clients, phases, strict=True):
                if (phase - tick_started) % 1.0 >= tick_s:
                    continue
                live = client.live
                live.heading += rng.gauss(0, 0.4)
                live.lng += WALKING_SPEED * math.sin(live.heading) / METRES_PER_DEGREE
                live.lat += WALKING_SPEED * math.cos(live.heading) / METRES_PER_DEGREE
                if math.hypot(live.lng, live.lat) * METRES_PER_DEGREE > radius:
                    live.heading += math.pi
                group = realtime.cell_group(*realtime.cell_of(live.lng, live.lat))
                event = {
                    "type": "player.moved",
                    "player_id": live.player_id,
                    "lng": live.lng,
                    "lat": live.lat,
                    "frame": f'{{"type":"player-moved","data":{{"playerId":"{live.player_id}"}}}}',
                    "entry": f'["{live.player_id}",{live.lat:.6f},{live.lng:.6f},'
                    f"{live.heading % 360:.1f},0,{clock.now * 1000}]",
                    "cell": group,
                }
                started = time.process_time()
                await crowd.moved(event, listeners.get(group, ()))
                moves_cpu += time.process_time() - started
            clock.now += tick_s / 2
            reading, started = hearing.reading_s, time.process_time()
            await crowd.tick()
            spent = time.process_time() - started - (hearing.reading_s - reading)
            ticks_cpu += spent
            longest = max(longest, spent)
        return moves_cpu, ticks_cpu, longest

    await play(3.0)  # every nearest set computed once
    hearing.recording, hearing.started = True, clock.now
    moves_cpu, ticks_cpu, longest = await play(seconds)

    ages = sorted(hearing.ages_ms)
    windows = seconds // WINDOW_S
    per_window, whole = [], []
    for client in clients:
        per_window.append(
            statistics.median(
                sum(1 for n in client.heard[w].values() if n >= 0.8 * WINDOW_S)
                for w in range(windows)
            )
        )
        total = collections.Counter()
        for heard in client.heard.values():
            total.update(heard)
        whole.append(sum(1 for n in total.values() if n >= 0.8 * seconds))
    per_window.sort()
    whole.sort()
    print(
        f"{players} players within {radius:.0f} m, {seconds} s, budget "
        f"{settings.WEBSOCKET_VISIBLE_PLAYERS} nearest + {settings.WEBSOCKET_FAR_UPDATES:g} far/s, "
        f"tick {1000 * tick_s:.0f} ms\n"
        f"  CPU per second: moves {1000 * moves_cpu / seconds:.0f} ms, ticks "
        f"{1000 * ticks_cpu / seconds:.0f} ms; longest tick {1000 * longest:.1f} ms\n"
        f"  moves heard per client per s: {len(ages) / seconds / players:.1f}; bytes per client "
        f"per s: {hearing.bytes / seconds / players:,.0f}\n"
        f"  age of a move when its frame left, p50 / p99 / max: {percentile(ages, 0.5):.0f} / "
        f"{percentile(ages, 0.99):.0f} / {ages[-1]:.0f} ms (moves half way "
        f"through a tick: the tick's wait is {1000 * tick_s / 2:.0f} ms here)\n"
        f"  players heard at full rate, per {WINDOW_S} s p50 / min: {per_window[len(per_window) // 2]:g}"
        f" / {per_window[0]:g}; over the {seconds} s p50 / min: {whole[len(whole) // 2]} / {whole[0]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, default=1000)
    parser.add_argument("--radius", type=float, default=200.0)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    asyncio.run(simulate(arguments.players, arguments.radius, arguments.seconds, arguments.seed))


if __name__ == "__main__":
    main()
