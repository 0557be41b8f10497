"""
Storms against production server processes started here (PostGIS and Redis):

    bench/storms.py logins [--players 500]     one process, N logins at once; peak memory
    bench/storms.py reconnect [--players 1000] [--accounts FILE]
                                              two processes, one killed mid-run

The load tool's storm mode (`python -m loadtest.storm`) does the work and
prints its report; this script adds the server's peak memory, the server's
and the machine's CPU during the quiet and the storm (`logins`), and the limits
the figures are held against (docs/performance.md). It seeds the world for
`reconnect` and leaves the load tool's players (`sim…`) behind.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._servers import (  # noqa: E402
    ROOT,
    Server,
    lasting_tokens,
    production_environment,
    seed_world,
    status_kib,
)

LIMITS = {
    "logins": "peak memory < 1 GiB; every answer < 5 s; only 200 and 503 + Retry-After; every "
    "token works; /me/ and move→ack p99 during the storm < 2 × quiet",
    "reconnect": "every player of the killed process back, authenticated and acked < 15 s; "
    "p99 socket authentication < 2 s; no acked position older than one flush interval lost",
}


class CpuSampler(threading.Thread):
    """
    Every half second: the CPU time of a process and the machine's busy and
    total time (Linux /proc), so that a report can say what each window cost.
    """

    def __init__(self, server: Server, interval: float = 0.5):
        super().__init__(daemon=True)
        self.server, self.interval = server, interval
        self.samples: list[tuple[float, float, float, float]] = []  # wall, process s, busy s, all s
        self.stopped = threading.Event()

    def run(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        while not self.stopped.wait(self.interval):
            try:
                process = self.server.cpu_seconds()
                machine = [
                    int(n) for n in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]
                ]
            except OSError:
                return  # the process is gone
            idle = machine[3] + machine[4]  # idle + iowait
            self.samples.append(
                (time.time(), process, (sum(machine) - idle) / tick, sum(machine) / tick)
            )

    def window(self, start: float, end: float) -> dict | None:
        """The process's share of a core and the machine's share of all its cores, start → end."""
        inside = [sample for sample in self.samples if start <= sample[0] <= end]
        if len(inside) < 2:
            return None
        (t0, p0, b0, a0), (t1, p1, b1, a1) = inside[0], inside[-1]
        return {
            "server_cores": round((p1 - p0) / (t1 - t0), 2),
            "machine_busy": round((b1 - b0) / max(a1 - a0, 1e-9), 2),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("mode", choices=("logins", "reconnect"))
    parser.add_argument("--players", type=int)
    parser.add_argument("--kill-after", type=float, default=20.0)
    parser.add_argument("--after-kill", type=float, default=30.0)
    parser.add_argument("--app", default="mmo.asgi:application", help="the ASGI application served")
    parser.add_argument("--env", action="append", default=[], help="NAME=value for the servers")
    parser.add_argument(
        "--clients-nice",
        type=int,
        default=0,
        help="logins: the storm's clients at this lower CPU priority (the probe keeps its own)",
    )
    parser.add_argument(
        "--accounts",
        help="reconnect: the players of an earlier run (saved there if missing), not registered again",
    )
    arguments = parser.parse_args()
    overrides = dict(item.split("=", 1) for item in arguments.env)
    env = production_environment(
        THROTTLE_LOGIN="1000000/minute", **lasting_tokens(arguments.accounts), **overrides
    )
    logs = Path(tempfile.mkdtemp(prefix="bench-storms-"))
    if arguments.mode == "reconnect":
        seed_world(env)
    count = 1 if arguments.mode == "logins" else 2
    servers = [
        Server("uvicorn", arguments.app, env, logs / f"server-{n}.log") for n in range(count)
    ]
    try:
        command = [sys.executable, "-m", "loadtest.storm", arguments.mode]
        for server in servers:
            command += ["--server", server.url]
        if arguments.mode == "logins":
            command += ["--players", str(arguments.players or 500), "--retries", "30"]
            command += ["--nice", str(arguments.clients_nice)]
        else:
            command += [
                "--players", str(arguments.players or 1000), "--kill-pid", str(servers[0].pid),
                "--kill-after", str(arguments.kill_after),
                "--after-kill", str(arguments.after_kill),
            ]  # fmt: skip
            if arguments.accounts:
                command += ["--accounts", arguments.accounts]
        sampler = CpuSampler(servers[0])
        if arguments.mode == "logins":
            sampler.start()
        finished = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        sampler.stopped.set()
        report = json.loads(finished.stdout)
        for window in ("quiet_window", "storm_window"):
            if window in report:
                report[window.replace("_window", "_cpu")] = sampler.window(*report.pop(window))
        alive = [server for server in servers if server.process.poll() is None]
        report["server_peak_rss_mib"] = [
            round(status_kib(server.pid, "VmHWM") / 1024, 1) for server in alive
        ]
        # Its login workers' peaks added: the memory the storm took in all.
        report["with_workers_peak_rss_mib"] = [
            round((status_kib(server.pid, "VmHWM") + server.workers_kib("VmHWM")) / 1024, 1)
            for server in alive
        ]
        report["limits"] = LIMITS[arguments.mode]
        report["server_logs"] = str(logs)
        print(json.dumps(report, indent=2))
    finally:
        for server in servers:
            if server.process.poll() is None:
                server.stop()


if __name__ == "__main__":
    main()
