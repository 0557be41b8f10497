"""
How many players one server process (and two) holds with p99 move→neighbour
under 100 ms.

For each process count and each player count, starts fresh server processes
(production settings, `--server uvicorn` as production runs them, or daphne),
runs the load tool (`python -m loadtest`) against them, and prints a table of acked
moves, latencies and deliveries. A sweep stops at the first player count over
the limit, and the largest count under it is reported per process count.

    DATABASE_URL=postgis://mmo:mmo@127.0.0.1:5432/mmo REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/capacity.py --players 250,500,750,1000,1500,2000,2500

The load generator runs in `--workers` processes on the same machine as the
servers, Redis and PostgreSQL: it takes its share of the cores, so the counts
are a floor for a server with a machine of its own. The world is seeded first;
every player settles on a flag of their own under the game's rules, at the
land the server offers nearest to a spot within --radius of the start point.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _servers import (
    COMMANDS,
    ROOT,
    Server,
    lasting_tokens,
    production_environment,
    seed_world,
)

sys.path.insert(0, str(ROOT))
from loadtest.world import flags_at_spots  # noqa: E402

LIMIT_P99_MS = 100.0


def simulate(servers: list[Server], players: int, arguments, report_path: Path) -> dict:
    command = [sys.executable, "-m", "loadtest", "--players", str(players)]
    for server in servers:
        command += ["--server", server.url]
    command += [
        "--duration", str(arguments.duration), "--ramp", str(arguments.ramp),
        "--radius", str(arguments.radius), "--move-rate", str(arguments.move_rate),
        "--workers", str(arguments.workers), "--json", str(report_path),
    ]  # fmt: skip
    if arguments.batched:
        command.append("--batched")
    if arguments.crowd:
        command.append("--crowd")
    if arguments.accounts:
        command += ["--accounts", arguments.accounts]
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if finished.returncode != 0:
        raise SystemExit(f"the load tool failed:\n{finished.stderr[-5000:]}")
    return json.loads(report_path.read_text())


# Server settings while the players are registered, before any run: each
# registration hashes a password, and the default gate (AUTH_CONCURRENCY of 1
# or 2, AUTH_QUEUE_TIMEOUT=0.5 s) sheds the load tool's registrations in flight with
# 503s it then waits one or two seconds after. The servers measured keep the defaults.
REGISTERING = {"AUTH_CONCURRENCY": "4", "AUTH_QUEUE_LENGTH": "64", "AUTH_QUEUE_TIMEOUT": "60"}


def prepare_accounts(players: int, arguments, work: Path) -> None:
    """
    Register and settle the players `arguments.accounts` lacks, on a server of their
    own, so that every run replays players and the servers measured never hash a password.
    """
    if os.path.exists(arguments.accounts):
        with open(arguments.accounts) as saved:
            if len(json.load(saved)) >= players:
                return
    server = Server(
        arguments.server,
        "mmo.asgi:application",
        production_environment(**server_settings(arguments), **REGISTERING),
        work / "server-registering.log",
    )
    command = [
        sys.executable, "-m", "loadtest", "--server", server.url, "--players", str(players),
        "--radius", str(arguments.radius), "--accounts", arguments.accounts, "--prepare-only",
    ]  # fmt: skip
    if arguments.crowd:
        command.append("--crowd")
    try:
        finished = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    finally:
        server.stop()
    if finished.returncode != 0:
        raise SystemExit("the load tool could not prepare the players; its output is above")


class CpuSampler(threading.Thread):
    """
    Samples the servers' CPU time once a second, so that the share of a core
    they used while the players played (the last `duration` seconds of the
    run) can be told apart from registering them (password hashing).
    """

    def __init__(self, servers: list[Server]):
        super().__init__(daemon=True)
        self.servers = servers
        # (monotonic time, CPU seconds of all, of which system: in the kernel, for them)
        self.samples: list[tuple[float, float, float]] = []
        self.rss: list[tuple[float, int]] = []  # (monotonic time, largest RSS of one process)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            now = time.monotonic()
            times = [server.cpu_times() for server in self.servers]
            self.samples.append(
                (now, sum(user + system for user, system in times), sum(s for _, s in times))
            )
            self.rss.append((now, max(server.rss_kib() for server in self.servers)))
            self.stopped.wait(1.0)

    def share_per_process(self, seconds: float, *, system: bool = False) -> float:
        """
        Percent of a core each process used on average over the last `seconds`;
        with `system`, only the part the kernel spent for them (system calls:
        above all the write of each frame to its socket).
        """
        column = 2 if system else 1
        end = self.samples[-1]
        start = next(sample for sample in self.samples if sample[0] >= end[0] - seconds)
        elapsed = max(end[0] - start[0], 1e-9)
        return 100 * (end[column] - start[column]) / elapsed / len(self.servers)

    def peak_rss_kib(self, seconds: float) -> int:
        """The largest resident memory of one process over the last `seconds` (registering
        players hashes passwords, which takes memory of its own)."""
        end_time = self.rss[-1][0]
        return max(kib for t, kib in self.rss if t >= end_time - seconds)


def ms(value) -> str:
    return "–" if value is None else f"{value:,.0f}"


def steady_seconds(result: dict) -> float:
    """How long the run went on once every player had connected."""
    return max(result["duration_s"] - result.get("steady", {}).get("from_s", 0.0), 0.0)


def per_1000_deliveries(cpu_share: float, processes: int, deliveries_per_s: float) -> str:
    """CPU time of all processes per 1,000 deliveries, as a table cell; "–" without deliveries."""
    if deliveries_per_s <= 0:
        return "–"
    return f"{1000 * cpu_share / 100 * processes / (deliveries_per_s / 1000):.1f} ms"


def row(
    processes: int,
    result: dict,
    cpu_share: float,
    steady_cpu_share: float,
    steady_system_share: float,
    peak_rss_kib: int,
) -> str:
    ack, neighbour = result["ack_ms"], result["neighbour_ms"]
    steady = result.get("steady", {"ack_ms": {}, "neighbour_ms": {}})
    deliveries = neighbour["count"] / max(result["duration_s"], 1e-9)
    # CPU time of all processes per 1,000 deliveries (moves heard by a neighbour).
    cpu_per_1000 = per_1000_deliveries(cpu_share, processes, deliveries)
    # The same once all had connected: play without the ramp's logins.
    steady_deliveries = steady["neighbour_ms"].get("count", 0) / max(steady_seconds(result), 1e-9)
    steady_cpu_per_1000 = per_1000_deliveries(steady_cpu_share, processes, steady_deliveries)
    steady_system_per_1000 = per_1000_deliveries(steady_system_share, processes, steady_deliveries)
    client = result.get("per_client", {})
    heard, received, full, full_per_window = (
        client.get(key, {})
        for key in (
            "moves_heard_per_s",
            "bytes_received_per_s",
            "players_heard_at_full_rate",
            "players_heard_at_full_rate_per_window",
        )
    )
    return (
        f"| {result['players']:,} | {processes} | {result['connected']:,} "
        f"| {100 * (result['acked_share'] or 0):.2f} % | {result['moves_per_s']:,.0f} "
        f"| {ms(ack['p50'])} / {ms(ack['p99'])} ms | {ms(neighbour['p50'])} / {ms(neighbour['p99'])} ms "
        f"| {ms(steady['ack_ms'].get('p99'))} / {ms(steady['neighbour_ms'].get('p99'))} ms "
        f"| {deliveries:,.0f} | {cpu_share:.0f} % | {cpu_per_1000} | {steady_cpu_per_1000} "
        f"| {steady_system_per_1000} "
        f"| {peak_rss_kib / 1024:.0f} MiB | {ms(heard.get('p50'))} / {ms(heard.get('max'))} "
        f"| {ms(received.get('p50'))} / {ms(received.get('max'))} B "
        f"| {ms(full.get('min'))} / {ms(full.get('p50'))} "
        f"| {ms(full_per_window.get('min'))} / {ms(full_per_window.get('p50'))} "
        f"| {100 * result.get('tool_cpu_cores', 0):.0f} % | {result['errors']} |"
    )


def server_settings(arguments) -> dict:
    """What the servers of a sweep run with besides the production settings."""
    placement = flags_at_spots(arguments.radius) if arguments.flags_at_spots else {}
    return {**lasting_tokens(arguments.accounts), **placement}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=sorted(COMMANDS), default="uvicorn")
    parser.add_argument("--processes", default="1,2", help="process counts to sweep")
    parser.add_argument("--players", default="250,500,750,1000,1500,2000,2500")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--ramp", type=float, default=100.0, help="connections per second")
    parser.add_argument("--radius", type=float, default=5000.0, help="metres of scatter")
    parser.add_argument("--move-rate", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2, help="load generator processes")
    parser.add_argument("--app", default="mmo.asgi:application", help="the ASGI application served")
    parser.add_argument(
        "--batched", action="store_true", help="clients ask for one players-moved frame per tick"
    )
    parser.add_argument(
        "--reports", metavar="DIR", help="keep each run's load tool report (JSON) in DIR"
    )
    parser.add_argument(
        "--accounts",
        metavar="FILE",
        help="where the players are kept (the load tool's --accounts): registered and "
        "settled there first, on a server of their own, those it lacks; every run replays "
        "them (the servers sign tokens with a key of their own that lasts 12 hours). "
        "Default: a file of this sweep's own, so each sweep registers its players once",
    )
    parser.add_argument(
        "--crowd",
        action="store_true",
        help="players place no flags and walk within --radius of the start hub they spawn at",
    )
    parser.add_argument(
        "--flags-at-spots",
        action="store_true",
        help="servers let each player's flag stand at its spot within --radius "
        "(loadtest.world.flags_at_spots), so the players spread over --radius; under the "
        "game's own rules 1,000 players settle at many start hubs, the world over",
    )
    arguments = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgis://"):
        raise SystemExit("set DATABASE_URL (postgis://…) and REDIS_URL: the servers share them")

    header = (
        "| players | processes | connected | acked | acked moves/s | move→ack p50 / p99 "
        "| move→neighbour p50 / p99 | once all connected: move→ack / move→neighbour p99 "
        "| deliveries/s | CPU per process | CPU per 1,000 deliveries "
        "| the same once all connected | of which the kernel's (system time) "
        "| peak memory per process | moves heard/s per client p50 / max "
        "| bytes/s per client p50 / max | players heard at full rate min / p50 "
        "| the same per 5 s min / p50 | load tool CPU (share of a core) | errors |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    seed_world({**os.environ, "DEBUG": "true", "DJANGO_SETTINGS_MODULE": "mmo.settings.base"})
    lines, largest = [], {}
    with tempfile.TemporaryDirectory(prefix="mmo-capacity-") as work:
        work = Path(work)
        arguments.accounts = arguments.accounts or str(work / "accounts.json")
        counts = [int(n) for n in arguments.players.split(",")]
        prepare_accounts(max(counts), arguments, work)
        for processes in (int(n) for n in arguments.processes.split(",")):
            for players in (int(n) for n in arguments.players.split(",")):
                servers = [
                    Server(
                        arguments.server,
                        arguments.app,
                        production_environment(**server_settings(arguments)),
                        work / f"server-{processes}-{players}-{n}.log",
                    )
                    for n in range(processes)
                ]
                sampler = CpuSampler(servers)
                sampler.start()
                try:
                    report_dir = Path(arguments.reports) if arguments.reports else work
                    report_dir.mkdir(parents=True, exist_ok=True)
                    report_path = (
                        report_dir / f"report-{processes}-{players}-{time.time():.0f}.json"
                    )
                    result = simulate(servers, players, arguments, report_path)
                finally:
                    sampler.stopped.set()
                    sampler.join()
                    for server in servers:
                        server.stop()
                cpu_share = sampler.share_per_process(arguments.duration)
                steady_cpu_share = sampler.share_per_process(steady_seconds(result))
                steady_system_share = sampler.share_per_process(steady_seconds(result), system=True)
                lines.append(
                    row(
                        processes,
                        result,
                        cpu_share,
                        steady_cpu_share,
                        steady_system_share,
                        sampler.peak_rss_kib(arguments.duration),
                    )
                )
                print(lines[-1], flush=True)
                within = (
                    result["neighbour_ms"]["p99"] is not None
                    and result["neighbour_ms"]["p99"] < LIMIT_P99_MS
                    and result["errors"] == 0
                )
                if not within:
                    break
                largest[processes] = players

    print(
        f"\n{arguments.server}, {arguments.duration:.0f} s per run, radius {arguments.radius:.0f} m"
        + (", batched clients" if arguments.batched else "")
    )
    print(header)
    print("\n".join(lines))
    for processes in (int(n) for n in arguments.processes.split(",")):
        count = largest.get(processes)
        print(
            f"{processes} process(es): largest player count with p99 move→neighbour "
            f"< {LIMIT_P99_MS:.0f} ms and no errors: {count if count else 'none of those tried'}"
        )


if __name__ == "__main__":
    main()
