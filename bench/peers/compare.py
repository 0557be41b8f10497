"""
This server beside Colyseus: the same workloads on the same cores, in one sitting, one table.

Runs the Colyseus world (bench/peers/colyseus/, in its *messages* and *state* modes) and this
server (through bench/capacity.py and bench/websocket.py) on:

- scatter: players over 5 km, swept over --players until p99 move→neighbour reaches 100 ms;
- crowd_300, crowd_1000: 300 players within 150 m, 1,000 within 200 m;
- idle: the memory a connected idle player costs the server (--idle players).

Each workload runs on every side back to back, the sides' order turning each round (--rounds),
so that what else the machine does falls on all of them alike.

    DATABASE_URL=postgis://mmo:mmo@127.0.0.1:5432/mmo_peerbench REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python bench/peers/compare.py
    .venv/bin/python bench/peers/compare.py --sides messages,state      (Colyseus only: no database)
    .venv/bin/python bench/peers/compare.py --sides ours --batched      (this server's --batched mode)

Every side gets 1 move/s per player, the load generator in --workers processes and the same
--duration. Deliveries are moves heard by a client; CPU per 1,000 deliveries is the server
process's CPU time over the run divided by them (for this server: its CPU share over the last
--duration seconds, as bench/capacity.py samples it, over its deliveries per second). This
server's memory is its peak over the play where capacity.py reports one, else the resident set
the driver last saw its server process hold (sampled every second until it stops, right after
its run); Colyseus' is read at the end of the run. On crowds this server's players walk around
the start hub (capacity.py --crowd) where capacity.py offers it, else they settle on own flags.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLYSEUS = ROOT / "bench" / "peers" / "colyseus" / "run.sh"
LIMIT_P99_MS = 100.0
CROWDS = ((300, 150.0), (1000, 200.0))
SIDES = {"messages": "Colyseus messages", "state": "Colyseus state", "ours": "this server"}


# Colyseus ------------------------------------------------------------------------------


def colyseus(mode: str, players: str, radius: float, arguments) -> list[dict]:
    """One sweep (or one run) of the Colyseus world; its reports."""
    command = [
        str(COLYSEUS), "bench", "--mode", mode, "--players", players, "--radius", str(radius),
        "--duration", str(arguments.duration), "--warmup", str(arguments.warmup),
        "--ramp", str(arguments.ramp), "--workers", str(arguments.workers),
        "--nearest", str(arguments.nearest), "--patch-ms", str(arguments.patch_ms),
    ]  # fmt: skip
    return [line for line in _json_lines(_run(command)) if "players" in line]


def colyseus_idle(mode: str, arguments) -> float:
    command = [str(COLYSEUS), "bench", "--mode", mode, "--idle", str(arguments.idle)]
    command += ["--nearest", str(arguments.nearest), "--patch-ms", str(arguments.patch_ms)]
    (line,) = [line for line in _json_lines(_run(command)) if "kib_per_idle_player" in line]
    return line["kib_per_idle_player"]


# This server ---------------------------------------------------------------------------


class ServerMemory(threading.Thread):
    """
    The resident set of each server process started under `pid`, last seen (each
    is stopped right after its run), sampled every second: registering players
    hashes passwords, which takes memory the play does not.
    """

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.root, self.last, self.stopped = pid, {}, threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            for pid in _descendants(self.root):
                try:
                    command = Path(f"/proc/{pid}/cmdline").read_bytes()
                    if b"uvicorn" not in command and b"daphne" not in command:
                        continue
                    rss = _rss_kib(pid)
                except (FileNotFoundError, ProcessLookupError):
                    continue
                self.last[pid] = rss


def ours(players: str, radius: float, arguments, workload: str) -> list[dict]:
    """bench/capacity.py on one process; its rows, with the server's memory."""
    crowd = workload != "scatter"
    command = [
        sys.executable, "bench/capacity.py", "--processes", "1", "--players", players,
        "--radius", str(radius), "--duration", str(arguments.duration),
        "--ramp", str(arguments.ramp), "--workers", str(arguments.workers),
        # Each workload's players registered once, the first time, and replayed after.
        "--accounts", str(Path(arguments.accounts) / f"{workload}.json"),
    ]  # fmt: skip
    if arguments.batched:
        command.append("--batched")
    if not crowd:
        command.append("--flags-at-spots")  # over 5 km, as the peers scatter their players
    if crowd and _capacity_knows("--crowd"):
        command.append("--crowd")  # walk around the start hub instead of settling on own flags
    command += arguments.ours_arg
    process = subprocess.Popen(
        command, cwd=ROOT, env=_our_environment(arguments), stdout=subprocess.PIPE, text=True
    )
    memory = ServerMemory(process.pid)
    memory.start()
    output, _ = process.communicate()
    memory.stopped.set()
    if process.returncode != 0:
        raise SystemExit(f"bench/capacity.py failed ({process.returncode}):\n{output[-3000:]}")
    rows = [_our_report(row) for row in capacity_table(output)]
    last = list(memory.last.values())  # one server per row, in the order they were seen
    for report, rss in zip(rows, last, strict=False):
        report.setdefault("server_rss_mib", round(rss / 1024, 1))
    return rows


def capacity_table(output: str) -> list[dict]:
    """The rows of the table bench/capacity.py prints last, by its column names."""
    lines = output.splitlines()
    starts = [n for n, line in enumerate(lines) if line.startswith("| players | processes |")]
    if not starts:
        raise SystemExit(f"bench/capacity.py printed no table:\n{output[-3000:]}")
    cells = lambda line: [cell.strip() for cell in line.strip().strip("|").split("|")]  # noqa: E731
    names = cells(lines[starts[-1]])
    rows = []
    for line in lines[starts[-1] + 2 :]:
        if not line.startswith("| "):
            break
        rows.append(dict(zip(names, cells(line), strict=True)))
    return rows


def _capacity_knows(option: str) -> bool:
    usage = subprocess.run(
        [sys.executable, "bench/capacity.py", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    return option in usage.stdout


def ours_idle(arguments) -> float:
    command = [sys.executable, "bench/websocket.py", "--rounds", "0", "--servers", "uvicorn"]
    command += ["--idle-players", str(arguments.idle)]
    output = _run(command, env=_our_environment(arguments))
    match = re.search(r"uvicorn: ([\d.]+) KiB per connected idle player", output)
    if not match:
        raise SystemExit(f"bench/websocket.py printed no idle memory:\n{output[-3000:]}")
    return float(match[1])


def _number(text: str | None) -> float | None:
    """A figure of capacity.py's table: `1,234`, `12 ms`, `100.00 %`, `–`."""
    if text is None:
        return None
    match = re.match(r"[\d,.]+", text)
    return float(match[0].replace(",", "")) if match else None


def _pair(text: str | None) -> tuple[float | None, float | None]:
    first, _, second = (text or "").partition(" / ")
    return _number(first), _number(second)


def _our_report(row: dict) -> dict:
    players, deliveries = int(_number(row["players"])), _number(row["deliveries/s"])
    cpu = _number(row["CPU per process"])
    ack, neighbour = _pair(row["move→ack p50 / p99"]), _pair(row["move→neighbour p50 / p99"])
    report = {
        "server": "ours",
        "players": players,
        "connected": int(_number(row["connected"])),
        "acked_share": _number(row["acked"]) / 100,
        "moves_per_s": _number(row["acked moves/s"]),
        "ack_ms": {"p50": ack[0], "p99": ack[1]},
        "neighbour_ms": {"p50": neighbour[0], "p99": neighbour[1]},
        "deliveries_per_s": deliveries,
        "heard_per_client_s": round(deliveries / players, 2),
        "bytes_per_client_s": None,
        "server_cpu_share": cpu,
        "server_cpu_ms_per_1000_deliveries": round(cpu * 10 / deliveries * 1000, 2)
        if deliveries
        else None,
        "errors": int(_number(row["errors"])),
    }
    # Figures a newer capacity.py prints itself (per-client medians, its own memory sample).
    if "CPU per 1,000 deliveries" in row:
        report["server_cpu_ms_per_1000_deliveries"] = _number(row["CPU per 1,000 deliveries"])
    if "peak memory per process" in row:
        report["server_rss_mib"] = _number(row["peak memory per process"])
    if "moves heard/s per client p50 / max" in row:
        report["heard_per_client_s"] = _pair(row["moves heard/s per client p50 / max"])[0]
    if "bytes/s per client p50 / max" in row:
        report["bytes_per_client_s"] = _pair(row["bytes/s per client p50 / max"])[0]
    return report


def _our_environment(arguments) -> dict:
    if not os.environ.get("DATABASE_URL", "").startswith("postgis://"):
        raise SystemExit("this server's side needs DATABASE_URL (postgis://…) and REDIS_URL")
    env = dict(os.environ)
    for pair in arguments.ours_env:
        key, _, value = pair.partition("=")
        env[key] = value
    return env


# Running and reading -------------------------------------------------------------------


def _run(command: list[str], env=None) -> str:
    print("$", " ".join(command), file=sys.stderr, flush=True)
    # Its progress and tables (on standard error) pass through; its reports come back.
    finished = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    if finished.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({finished.returncode}); its output is above")
    return finished.stdout


def _json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def _descendants(pid: int) -> list[int]:
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def _rss_kib(pid: int) -> int:
    match = re.search(r"^VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
    return int(match[1]) if match else 0


# The table -----------------------------------------------------------------------------

WORKLOADS = ("scatter", "crowd_300", "crowd_1000", "idle")
FIGURES = (  # name, the figure in a report, its format
    ("p99 move→ack", lambda r: r["ack_ms"]["p99"], lambda v: f"{v:,.0f} ms"),
    ("p99 move→neighbour", lambda r: r["neighbour_ms"]["p99"], lambda v: f"{v:,.0f} ms"),
    ("acked", lambda r: 100 * (r["acked_share"] or 0), lambda v: f"{v:.2f} %"),
    ("acked moves/s (the generator's pace)", lambda r: r.get("moves_per_s"), lambda v: f"{v:,.0f}"),
    ("moves heard per client per s", lambda r: r["heard_per_client_s"], lambda v: f"{v:.1f}"),
    ("deliveries/s", lambda r: r["deliveries_per_s"], lambda v: f"{v:,.0f}"),
    ("server CPU per 1,000 deliveries", lambda r: r["server_cpu_ms_per_1000_deliveries"], lambda v: f"{v:,.1f} ms"),
    ("bytes received per client per s", lambda r: r.get("bytes_per_client_s"), lambda v: f"{v:,.0f} B"),
    ("server memory (RSS, end of play)", lambda r: r.get("server_rss_mib"), lambda v: f"{v:,.0f} MiB"),
    ("errors", lambda r: r["errors"], lambda v: f"{v:,.0f}"),
)  # fmt: skip


def largest_within(reports: list[dict]) -> int | None:
    within = [
        r["players"]
        for r in reports
        if r["neighbour_ms"]["p99"] is not None
        and r["neighbour_ms"]["p99"] < LIMIT_P99_MS
        and r["errors"] == 0
    ]
    return max(within, default=None)


def spread(values, fmt) -> str:
    """One round's figure, or the lowest and highest of several."""
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    low, high = fmt(min(values)), fmt(max(values))
    return low if low == high else f"{low.split(' ')[0]}–{high}"


def table(results: dict, arguments) -> str:
    sides = [side for side in arguments.sides if side in results]
    counts = [int(n) for n in arguments.players.split(",")]

    def row(label, values_of, fmt):
        return f"| {label} | " + " | ".join(spread(values_of(side), fmt) for side in sides) + " |"

    def reports(side, workload, players):
        rounds = results[side][workload]
        found = (next((r for r in reports if r["players"] == players), None) for reports in rounds)
        return [r for r in found if r is not None]

    lines = [
        "| | " + " | ".join(SIDES[side] for side in sides) + " |",
        "|---|" + "---|" * len(sides),
        row(
            "players per process with p99 move→neighbour < 100 ms, over 5 km (tried "
            + ", ".join(f"{n:,}" for n in counts)
            + ")",
            lambda side: [largest_within(rounds) or 0 for rounds in results[side]["scatter"]],
            lambda v: f"{v:,}" if v else "none",
        ),
        row("memory per idle client", lambda side: results[side]["idle"], lambda v: f"{v:.1f} KiB"),
    ]
    groups = [("scatter", n, f"{n:,} over 5 km") for n in counts]
    groups += [(f"crowd_{n}", n, f"{n:,} within {r:.0f} m") for n, r in CROWDS]
    for workload, players, label in groups:
        if not any(reports(side, workload, players) for side in sides):
            continue
        for name, figure, fmt in FIGURES:
            lines.append(
                row(
                    f"{label}: {name}",
                    lambda side, w=workload, p=players, f=figure: [
                        f(r) for r in reports(side, w, p)
                    ],
                    fmt,
                )
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--sides", default="messages,state,ours", help="of messages, state, ours")
    parser.add_argument("--players", default="1000,1500,2000,2500", help="counts over 5 km")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of play per run")
    parser.add_argument("--warmup", type=float, default=0.0, help="Colyseus: seconds left out")
    parser.add_argument("--ramp", type=float, default=100.0, help="connections per second")
    parser.add_argument("--workers", type=int, default=2, help="load generator processes")
    parser.add_argument("--nearest", type=int, default=50, help="K: players heard at full rate")
    parser.add_argument("--patch-ms", type=int, default=50, help="Colyseus state: 50 or 100")
    parser.add_argument("--idle", type=int, default=1000, help="idle clients; 0: not measured")
    parser.add_argument(
        "--workloads", default=",".join(WORKLOADS), help="of " + ", ".join(WORKLOADS)
    )
    parser.add_argument("--rounds", type=int, default=1, help="each workload on every side, again")
    parser.add_argument("--batched", action="store_true", help="this server's --batched mode")
    parser.add_argument("--ours-arg", action="append", default=[], help="more for capacity.py")
    parser.add_argument(
        "--ours-env", action="append", default=[], help="KEY=VALUE for this server's processes"
    )
    parser.add_argument(
        "--accounts",
        metavar="DIR",
        help="this server's players, one file per workload (capacity.py --accounts), kept "
        "for later runs; default: a folder of this run's own",
    )
    parser.add_argument("--json", help="write every report here")
    arguments = parser.parse_args()
    arguments.sides = arguments.sides.split(",")
    workloads = arguments.workloads.split(",")
    if unknown := set(arguments.sides) - set(SIDES):
        parser.error(f"--sides takes messages, state and ours, not {', '.join(sorted(unknown))}")
    if unknown := set(workloads) - set(WORKLOADS):
        parser.error(f"--workloads takes {', '.join(WORKLOADS)}, not {', '.join(sorted(unknown))}")

    def run(side: str, workload: str):
        if workload == "idle":
            return ours_idle(arguments) if side == "ours" else colyseus_idle(side, arguments)
        players, radius = (
            (arguments.players, 5000.0)
            if workload == "scatter"
            else next((str(n), r) for n, r in CROWDS if workload == f"crowd_{n}")
        )
        if side == "ours":
            return ours(players, radius, arguments, workload)
        return colyseus(side, players, radius, arguments)

    own_accounts = None
    if not arguments.accounts:
        own_accounts = tempfile.TemporaryDirectory(prefix="mmo-peers-accounts-")
        arguments.accounts = own_accounts.name
    Path(arguments.accounts).mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results = {side: {workload: [] for workload in WORKLOADS} for side in arguments.sides}
    # Each workload on every side back to back, the sides' order turning each round, so that
    # what else the machine does falls on all of them alike.
    for round_ in range(arguments.rounds):
        for workload in workloads:
            turn = round_ % len(arguments.sides)
            for side in arguments.sides[turn:] + arguments.sides[:turn]:
                results[side][workload].append(run(side, workload))
                print(f"round {round_ + 1}: {workload} on {SIDES[side]}: done", file=sys.stderr)
    if own_accounts:
        own_accounts.cleanup()

    if arguments.json:
        Path(arguments.json).write_text(json.dumps(results, indent=2))
    print(
        f"\n{started}; one server process each, {arguments.duration:.0f} s per run, 1 move/s per "
        f"player, generator in {arguments.workers} processes on the same cores; K = "
        f"{arguments.nearest}; Colyseus state patches every {arguments.patch_ms} ms"
        + ("; this server --batched" if arguments.batched else "")
        + (f"; lowest–highest of {arguments.rounds} rounds" if arguments.rounds > 1 else "")
    )
    print(table(results, arguments))


if __name__ == "__main__":
    main()
