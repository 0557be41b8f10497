"""
A whole run: prepare every player, then play them for the duration and report.

Players are dealt round-robin over the servers given, as a load balancer
would, and over worker processes, so that one event loop of this tool does
not become the limit it measures.
"""

import asyncio
import json
import multiprocessing
import os
import random
import statistics
import time
from collections import Counter

from loadtest.config import Config
from loadtest.players import SimulatedPlayer
from loadtest.stats import Stats, report

try:  # the generator competes with the server for the CPU: its own event loop should be cheap
    from uvloop import run as run_loop
except ImportError:  # pragma: no cover (uvloop is a runtime dependency; not on every platform)
    run_loop = asyncio.run

# Registrations in flight per server: each hashes a password, which is what
# the server spends its time on until the players are ready.
PREPARING_PER_SERVER = 8


def run(config: Config, workers: int = 1, progress=None) -> dict:
    """Simulate `config.players` players, playing in `workers` processes; the report."""
    players = run_loop(prepare(config, progress))
    refusals = dict(Counter(player.refusal for player in players if player.refusal))
    workers = min(workers, config.players)
    if workers <= 1:
        stats = run_loop(play(config, players, progress))
    else:
        stats = _play_in_workers(config, players, workers, progress)
    return report(config, stats, refusals)


async def prepare(config: Config, progress=None) -> list[SimulatedPlayer]:
    """
    Register every player and settle them on a flag of their own, a few at a time;
    with --accounts, play the players saved there first and prepare only the rest,
    which the file then keeps too (one file serves a sweep of growing counts).
    """
    rng = random.Random(config.prefix)
    players = [
        SimulatedPlayer(n, config, Stats(), random.Random(rng.random()))
        for n in range(config.players)
    ]
    saved = []
    if config.accounts and os.path.exists(config.accounts):
        with open(config.accounts) as file:
            saved = json.load(file)
    semaphore = asyncio.Semaphore(PREPARING_PER_SERVER * len(config.servers))

    async def resume_one(player, account):
        async with semaphore:
            await asyncio.to_thread(player.resume, account)

    await asyncio.gather(
        *(resume_one(player, account) for player, account in zip(players, saved, strict=False))
    )
    new = players[len(saved) :]
    if not new:
        return players
    started, done = time.monotonic(), 0
    every = max(1, len(new) // 10)

    async def prepare_one(player):
        nonlocal done
        async with semaphore:
            await player.prepare()
        done += 1
        if progress and (done % every == 0 or done == len(new)):
            progress(f"prepared {done:5d}/{len(new)} players in {time.monotonic() - started:.1f}s")

    await asyncio.gather(*(prepare_one(player) for player in new))
    if config.accounts:
        with open(config.accounts, "w") as file:
            json.dump(saved + [player.account() for player in new], file)
    refused = Counter(player.refusal for player in new if player.refusal)
    if progress and refused:
        progress(
            f"{sum(refused.values())} flags refused ({dict(refused)}): those players play "
            "where the server put them at registration (is the world seeded? "
            "`python -m loadtest --help`)"
        )
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
    cpu_started = time.process_time()
    tasks = []

    async def play_one(player):
        try:
            await player.run(until)
        except Exception as error:  # one player's failure is a figure, not the end of the run
            stats.error(f"{player.username}: {type(error).__name__}: {error}")

    reporter = asyncio.create_task(_report_progress(stats, until, progress)) if progress else None
    lag_probe = asyncio.create_task(_probe_loop_lag(stats, until))
    for player in players:
        tasks.append(asyncio.create_task(play_one(player)))
        # The ramp is for the whole run; each worker opens its share of connections.
        await asyncio.sleep(config.players / len(players) / config.ramp)
    await asyncio.gather(*tasks)
    if reporter:
        reporter.cancel()
    lag_probe.cancel()
    stats.cpu_seconds = time.process_time() - cpu_started
    return stats


def _play_in_workers(config: Config, players, workers: int, progress) -> Stats:
    """Deal the prepared players over forked processes that start together."""
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


async def _probe_loop_lag(stats: Stats, until: float, period: float = 0.01) -> None:
    """Time how late a timer of `period` fires on this loop, until the run ends."""
    while time.monotonic() < until:
        asked = time.monotonic()
        await asyncio.sleep(period)
        woke = time.monotonic()
        stats.loop_lag_ms.append((woke - stats.started, max(0.0, (woke - asked - period) * 1000)))


async def _report_progress(stats: Stats, until: float, progress) -> None:
    while time.monotonic() < until:
        await asyncio.sleep(1.0)
        recent = [ms for at, ms in stats.ack_ms if at > stats.now() - 2]
        progress(
            f"{stats.now():6.1f}s connected {stats.connected:5d}  sent {stats.moves_sent:7d}  "
            f"acked {stats.moves_acked:7d}  rejected {stats.moves_rejected:5d}  "
            f"errors {stats.errors:4d}  ack p50 {statistics.median(recent) if recent else 0:6.1f} ms"
        )
