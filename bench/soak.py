"""
A soak: the load tool's mixed play (moves, chat, REST reads, flag listings)
against production server processes for a long time, sampling what could leak.

    bench/soak.py [--minutes 20] [--players 500] [--processes 2] [--interval 60]
                  [--warm-up 3] [--out DIR] [--accounts FILE]

Every --interval seconds it samples each server process's resident memory and
open file descriptors (/proc: the servers run on this machine), its threads
and event-loop tasks (`GET /api/internal/metrics`, as a staff login), the
memory of the keys in Redis's database (MEMORY USAGE of each; the Redis server
may hold other work), and PostgreSQL's connections to the database and its tables'
sizes. At the end it plots every series (soak.png), writes them (soak.json),
and fails (exit 1) when one keeps growing after the warm-up: resident memory
by 1 MiB/min or more, file descriptors, tasks, threads or connections by more
than a few over the run, Redis memory by 1 MiB/min, a table other than chat
messages (kept CHAT_RETENTION_DAYS by design) by 1 MiB/min; or when the load
tool reports an error or a server logs one.

PostGIS and Redis from DATABASE_URL and REDIS_URL; it seeds the world and
leaves the load tool's players (`sim…`) and a staff login (`bench-soak`) behind.
With --own-postgres the run gets a PostgreSQL cluster of its own instead, as
PostgreSQL ships it (autovacuum on; fsync off, as in the fault drills), thrown
away afterwards: a machine whose server runs without autovacuum still shows
what a production database does with tables rewritten every second.
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

import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._servers import (  # noqa: E402
    ROOT,
    Server,
    lasting_tokens,
    production_environment,
    seed_world,
)
from loadtest.rest import http_json  # noqa: E402
from tests.e2e.infrastructure import PostgresCluster  # noqa: E402

STAFF = "bench-soak"
STAFF_PASSWORD = "bench-soak-staff-passphrase"
# Tables that grow by design while players play: every chat message is kept.
GROWING_BY_DESIGN = {"chat_messages"}
MIB = 1024 * 1024


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """
    The Theil–Sen slope of (seconds, value) points, per minute: the median of
    the slopes between every two points. One sample caught mid-burst (tasks of
    requests in flight) moves a least-squares line; it does not move the median.
    """
    slopes = sorted(
        (v2 - v1) / (t2 - t1)
        for n, (t1, v1) in enumerate(points)
        for t2, v2 in points[n + 1 :]
        if t2 != t1
    )
    if not slopes:
        return 0.0
    middle = len(slopes) // 2
    median = slopes[middle] if len(slopes) % 2 else (slopes[middle - 1] + slopes[middle]) / 2
    return 60 * median


class Sampler:
    def __init__(self, servers, env, token):
        self.servers, self.token = servers, token
        self.database = env["DATABASE_URL"].replace("postgis://", "postgresql://", 1)
        self.database_name = self.database.rsplit("/", 1)[1].split("?")[0]
        self.redis = redis.Redis.from_url(env["REDIS_URL"])
        self.samples: list[dict] = []

    def sample(self, at: float) -> dict:
        sample = {"t": round(at, 1), "processes": []}
        for server in self.servers:
            status, metrics = http_json(
                "GET", f"{server.url}/api/internal/metrics", None, self.token, timeout=10
            )
            if status != 200:
                raise RuntimeError(f"metrics of {server.url}: {status} {metrics}")
            sample["processes"].append(
                {
                    "rss_mib": server.rss_kib() / 1024,
                    "workers_rss_mib": server.workers_kib() / 1024,
                    "fds": len(os.listdir(f"/proc/{server.pid}/fd")),
                    "tasks": metrics["tasks"],
                    "threads": metrics["threads"],
                }
            )
        # This database's keys only: the Redis server may hold other work's databases.
        sample["redis_mib"] = (
            sum(self.redis.memory_usage(key) or 0 for key in self.redis.scan_iter(count=1000)) / MIB
        )
        sample["redis_server_mib"] = self.redis.info("memory")["used_memory"] / MIB
        with psycopg.connect(self.database) as connection:
            sample["pg_connections"] = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [self.database_name]
            ).fetchone()[0]
            # Without autovacuum, tables rewritten every second (positions,
            # scores) grow by their dead rows for good: say so beside the sizes.
            sample["autovacuum"] = connection.execute("SHOW autovacuum").fetchone()[0]
            sample["tables_mib"] = {
                name: size / MIB
                for name, size in connection.execute(
                    "SELECT relname, pg_total_relation_size(relid) FROM pg_stat_user_tables "
                    "WHERE relname <> 'spatial_ref_sys'"
                )
            }
        self.samples.append(sample)
        return sample


def series(samples: list[dict], warm_up: float) -> dict[str, list[tuple[float, float]]]:
    """Every sampled quantity as (seconds, value) points, warm-up left out."""
    out: dict[str, list[tuple[float, float]]] = {}
    for sample in samples:
        if sample["t"] < warm_up:
            continue
        for n, process in enumerate(sample["processes"]):
            for key, value in process.items():
                out.setdefault(f"process {n} {key}", []).append((sample["t"], value))
        out.setdefault("redis_mib", []).append((sample["t"], sample["redis_mib"]))
        out.setdefault("pg_connections", []).append((sample["t"], sample["pg_connections"]))
        for table, size in sample["tables_mib"].items():
            out.setdefault(f"table {table} mib", []).append((sample["t"], size))
    return out


def verdicts(points: dict, minutes_after_warm_up: float) -> dict[str, dict]:
    """For each series: its slope, its limit and whether it holds."""
    result = {}
    for name, values in points.items():
        slope = slope_per_minute(values)
        if name.endswith("rss_mib") or name == "redis_mib":
            limit, unit = 1.0, "MiB/min"
        elif name.startswith("table "):
            if name.split()[1] in GROWING_BY_DESIGN:
                result[name] = {"slope": round(slope, 3), "limit": None, "ok": True}
                continue
            limit, unit = 1.0, "MiB/min"
        else:
            # Counts: flat, give or take a few in flight at any moment.
            mean = sum(v for _, v in values) / len(values)
            limit, unit = max(5.0, 0.02 * mean) / max(minutes_after_warm_up, 1.0), "per min"
        result[name] = {
            "slope": round(slope, 3),
            "limit": round(limit, 3),
            "unit": unit,
            "ok": slope < limit,
        }
    return result


def plot(samples: list[dict], warm_up: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    everything = series(samples, warm_up=-1)
    panels = [
        ("resident memory (MiB)", lambda name: name.endswith("rss_mib")),
        ("open file descriptors", lambda name: name.endswith(" fds")),
        ("event-loop tasks", lambda name: name.endswith(" tasks")),
        ("threads", lambda name: name.endswith(" threads")),
        ("Redis memory (MiB)", lambda name: name == "redis_mib"),
        ("PostgreSQL connections", lambda name: name == "pg_connections"),
        ("table size (MiB)", lambda name: name.startswith("table ")),
    ]
    figure, axes = plt.subplots(len(panels), 1, figsize=(10, 2.6 * len(panels)), sharex=True)
    for axis, (title, wanted) in zip(axes, panels, strict=True):
        for name, values in everything.items():
            if wanted(name) and (not name.startswith("table ") or values[-1][1] > 0.1):
                axis.plot([t / 60 for t, _ in values], [v for _, v in values], label=name)
        axis.axvline(warm_up / 60, color="grey", linestyle=":")
        axis.set_ylabel(title, fontsize=8)
        axis.legend(fontsize=6, loc="upper left")
    axes[-1].set_xlabel("minutes (dotted: end of the warm-up)")
    figure.tight_layout()
    figure.savefig(path, dpi=90)


def staff_token(env: dict, server) -> str:
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from players.models import Player\n"
         f"p = Player.objects.filter(username='{STAFF}').first()\n"
         f"p = p or Player.objects.create_user(username='{STAFF}', email='{STAFF}@example.com')\n"
         f"p.is_staff = True; p.set_password('{STAFF_PASSWORD}'); p.save()"],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    for _ in range(30):
        status, answer = http_json(
            "POST", f"{server.url}/api/auth/login/", {"login": STAFF, "password": STAFF_PASSWORD}
        )
        if status == 200:
            return answer["access"]
        time.sleep(1)
    raise RuntimeError(f"the staff login failed: {status} {answer}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--players", type=int, default=500)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between samples")
    parser.add_argument(
        "--warm-up", type=float, default=3.0, help="minutes left out of the verdict"
    )
    parser.add_argument("--mix", default="chat=0.01,rest=0.02,flags=0.01")
    parser.add_argument("--out", help="folder for soak.json, soak.png and the logs")
    parser.add_argument(
        "--accounts",
        help="the players of an earlier run (saved there if missing), not registered again",
    )
    parser.add_argument(
        "--own-postgres",
        action="store_true",
        help="a PostgreSQL cluster of the run's own with stock settings, not DATABASE_URL's",
    )
    arguments = parser.parse_args()
    cluster = None
    if arguments.own_postgres:
        cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="bench-soak-postgres-")))
        cluster.start()
        cluster.create_database("mmo_soak")
        os.environ["DATABASE_URL"] = cluster.url("mmo_soak")
    try:
        soak(arguments)
    finally:
        if cluster is not None:
            cluster.stop()


def soak(arguments) -> None:
    out = Path(arguments.out or tempfile.mkdtemp(prefix="bench-soak-"))
    out.mkdir(parents=True, exist_ok=True)
    # Access tokens must outlive the run: the load tool logs in once.
    tokens = lasting_tokens(arguments.accounts)
    tokens["JWT_ACCESS_MINUTES"] = str(
        max(int(arguments.minutes) + 30, int(tokens.get("JWT_ACCESS_MINUTES", 0)))
    )
    env = production_environment(THROTTLE_LOGIN="1000000/minute", LOG_LEVEL="WARNING", **tokens)
    if arguments.own_postgres:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
        )
    seed_world(env)
    servers = [
        Server("uvicorn", "mmo.asgi:application", env, out / f"server-{n}.log")
        for n in range(arguments.processes)
    ]
    try:
        token = staff_token(env, servers[0])
        sampler = Sampler(servers, env, token)
        command = [sys.executable, "-m", "loadtest", "--players", str(arguments.players),
                   "--duration", str(arguments.minutes * 60), "--mix", arguments.mix,
                   "--workers", "2", "--json", str(out / "loadtest.json")]  # fmt: skip
        if arguments.accounts:
            command += ["--accounts", arguments.accounts]
        for server in servers:
            command += ["--server", server.url]
        tool_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        with open(out / "loadtest.log", "w") as tool_log:
            tool = subprocess.Popen(
                command, cwd=ROOT, env=tool_env, stdout=subprocess.PIPE, stderr=tool_log, text=True
            )
            report_text: list[str] = []
            reader = threading.Thread(target=lambda: report_text.append(tool.stdout.read()))
            reader.start()
            # Play starts once every player is prepared: the first progress line of play.
            while tool.poll() is None and "connected" not in (out / "loadtest.log").read_text():
                time.sleep(1)
            started = time.monotonic()
            print(f"play started; sampling every {arguments.interval:.0f} s", file=sys.stderr)
            while tool.poll() is None:
                sample = sampler.sample(time.monotonic() - started)
                print(
                    f"{sample['t'] / 60:5.1f} min  "
                    + "  ".join(
                        f"[{p['rss_mib']:.0f} MiB {p['fds']} fds {p['tasks']} tasks]"
                        for p in sample["processes"]
                    )
                    + f"  redis {sample['redis_mib']:.1f} MiB  pg {sample['pg_connections']}",
                    file=sys.stderr,
                    flush=True,
                )
                deadline = time.monotonic() + arguments.interval
                while tool.poll() is None and time.monotonic() < deadline:
                    time.sleep(1)
            reader.join()
        loadtest_report = json.loads(report_text[0]) if report_text and report_text[0] else {}
    finally:
        for server in servers:
            server.stop()

    warm_up = arguments.warm_up * 60
    checked = verdicts(series(sampler.samples, warm_up), arguments.minutes - arguments.warm_up)
    server_errors = sum(
        len(re.findall(r"\b(ERROR|CRITICAL)\b", server.log_path.read_text(errors="replace")))
        for server in servers
    )
    failed = sorted(name for name, verdict in checked.items() if not verdict["ok"])
    if server_errors:
        failed.append("errors in the server logs")
    if loadtest_report.get("errors", 1) or tool.returncode:
        failed.append("errors in the load tool")
    result = {
        "minutes": arguments.minutes,
        "players": arguments.players,
        "processes": arguments.processes,
        "warm_up_minutes": arguments.warm_up,
        "loadtest": {
            key: loadtest_report.get(key)
            for key in (
                "connected",
                "moves_acked",
                "moves_per_s",
                "errors",
                "error_samples",
                "chats_sent",
                "rest_calls",
                "ack_ms",
                "rest_ms",
            )
        },  # fmt: skip
        "server_log_errors": server_errors,
        "postgresql_autovacuum": sampler.samples[-1]["autovacuum"] if sampler.samples else None,
        "growth": checked,
        "failed": failed,
        "samples": sampler.samples,
        "out": str(out),
    }
    (out / "soak.json").write_text(json.dumps(result, indent=2))
    plot(sampler.samples, warm_up, out / "soak.png")
    summary = {key: value for key, value in result.items() if key != "samples"}
    print(json.dumps(summary, indent=2))
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
