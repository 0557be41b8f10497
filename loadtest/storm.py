"""
Storms: many players arriving at once. `python -m loadtest.storm --help`.

logins     N players log in at the same moment (they are registered first, a
           few at a time). Every answer is timed and checked: a 200 must carry
           a token that works, any refusal must be a 503 or 429 with
           Retry-After; with --retries, a refused login comes back after
           Retry-After (with jitter). Meanwhile one logged-in player reads
           `GET /api/players/me/` and moves over the socket, before the storm
           (quiet) and during it, so that the report compares their latencies.

reconnect  N players spread over two or more servers walk and are acked; after
           --kill-after seconds the tool kills the process --kill-pid with
           SIGKILL (a crash, on this machine), and the players it served
           reconnect at once to the others with the tokens they hold. The report
           says how long each took to be back (socket open, authenticated, a
           move acked), how long authentication took, and whether the position
           each found on its return is one it had been acked less than a flush
           interval before the kill (older acked positions must not be lost).

Like the rest of the load tool this is a client: it imports nothing of the
server. The servers need the registration and login throttles raised
(THROTTLE_REGISTER, THROTTLE_LOGIN), and for `reconnect` a seeded world, as
for `python -m loadtest`.
"""

import argparse
import asyncio
import collections
import json
import math
import multiprocessing
import os
import random
import signal
import statistics
import sys
import time
from urllib.parse import urlsplit

from websockets.asyncio.client import connect

from loadtest.config import Config
from loadtest.players import open_game_socket, wait_after_refusal
from loadtest.run import prepare, run_loop
from loadtest.stats import percentiles

# Movement answers within this many metres of the position sent count as the same place.
SAME_PLACE_DEGREES = 1e-6
# Seconds the login storm's probe plays before its quiet window: its first
# requests open the server's connections and threads.
PROBE_WARM_UP = 2.0
# The storm's first half second, reported apart: its clients' connections
# arrive together there.
STORM_OPENING_S = 0.5


# HTTP ------------------------------------------------------------------------------------


async def request(server: str, method: str, path: str, body=None, token=None, timeout=30.0):
    """(status, headers, decoded body) of one HTTP/1.1 request on a connection of its own."""
    url = urlsplit(server)
    payload = json.dumps(body).encode() if body is not None else b""
    head = [
        f"{method} {path} HTTP/1.1",
        f"Host: {url.netloc}",
        "Connection: close",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
    ]
    if token:
        head.append(f"Authorization: Bearer {token}")
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(url.hostname, url.port or 80), timeout
    )
    try:
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    header_block, _, content = raw.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        content = _unchunk(content)
    try:
        decoded = json.loads(content or b"null")
    except ValueError:
        decoded = content.decode(errors="replace")[:200]
    return status, headers, decoded


def _unchunk(content: bytes) -> bytes:
    out = bytearray()
    while content:
        size_line, _, rest = content.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        content = rest[size + 2 :]
    return bytes(out)


async def register_patiently(server: str, username: str, password: str) -> dict:
    """A new player's login answer; a busy server's refusals are waited out."""
    body = {"username": username, "email": f"{username}@example.com", "password": password}
    for _ in range(120):
        status, headers, answer = await request(server, "POST", "/api/auth/register/", body)
        if status == 201:
            return answer
        if status not in (429, 503):
            raise RuntimeError(f"register {username}: {status} {answer}")
        await asyncio.sleep(wait_after_refusal(headers.get("retry-after", 1)))
    raise RuntimeError(f"register {username}: still refused after two minutes")


# The login storm -------------------------------------------------------------------------


class Probe:
    """One logged-in player reading its profile and moving, timing both."""

    def __init__(self, server: str, token: str):
        self.server, self.token = server, token
        self.me_ms: list[tuple[float, float]] = []  # (time, ms)
        self.ack_ms: list[tuple[float, float]] = []
        self.failures: list[str] = []
        # Set to stop: the loops end after their current request. (Cancelling
        # them instead could be swallowed by a wait_for that ends meanwhile,
        # and the probe played on.)
        self.stopping = False

    async def read_profile(self, interval: float) -> None:
        while not self.stopping:
            started = time.monotonic()
            try:
                status, _, _ = await request(
                    self.server, "GET", "/api/players/me/", token=self.token, timeout=10
                )
            except (OSError, asyncio.TimeoutError) as error:
                status = type(error).__name__
            if status == 200:
                self.me_ms.append((started, (time.monotonic() - started) * 1000))
            else:
                self.failures.append(f"GET /api/players/me/: {status}")
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    async def move(self, interval: float, origin: float) -> None:
        """Move at origin + k × interval; a slot missed while waiting for an ack is skipped."""
        ws = self.server.replace("http://", "ws://").replace("https://", "wss://")
        async with connect(f"{ws}/ws/game/") as socket:
            await socket.send(json.dumps({"type": "authenticate", "data": {"token": self.token}}))
            reply = json.loads(await socket.recv())
            if reply["type"] != "authenticated":
                raise RuntimeError(f"the probe's socket: {reply}")
            lat, lng = reply["data"]["position"]["lat"], reply["data"]["position"]["lng"]
            seq = 0
            while not self.stopping:
                slots_gone = math.ceil((time.monotonic() - origin) / interval)
                await asyncio.sleep(max(0.0, origin + slots_gone * interval - time.monotonic()))
                seq += 1
                started = time.monotonic()
                # Back and forth by 20 cm, well within the speed limit.
                step = 2e-6 if seq % 2 else 0.0
                data = {"position": {"lat": lat + step, "lng": lng}, "seq": seq}
                await socket.send(json.dumps({"type": "player-move", "data": data}))
                while True:
                    message = json.loads(await asyncio.wait_for(socket.recv(), 10))
                    if message["type"] in ("move-ack", "move-rejected"):
                        break
                if message["type"] == "move-ack":
                    self.ack_ms.append((started, (time.monotonic() - started) * 1000))
                else:
                    self.failures.append(f"move rejected: {message['data']}")


def _probe_process(stop, server: str, tokens: list[str]) -> None:
    """
    Play the probe until told to stop on `stop`, then send its timings back
    there: the first player reads its profile, and every player moves.
    """
    probes = [Probe(server, token) for token in tokens]

    async def play():
        playing = [asyncio.create_task(probes[0].read_profile(0.05))]
        # Each mover in its own slot of the 70 ms, kept even after a stall:
        # moves sent together would wait on each other and meet the same
        # stall, one sample counted several times.
        origin = time.monotonic() + 1.0
        playing += [
            asyncio.create_task(probe.move(0.07, origin + 0.07 * n / len(probes)))
            for n, probe in enumerate(probes)
        ]
        while not stop.poll():
            await asyncio.sleep(0.05)
        for probe in probes:
            probe.stopping = True
        _, stuck = await asyncio.wait(playing, timeout=15)
        for task in stuck:
            task.cancel()
            probes[0].failures.append("a probe's request still unanswered 15 s after the storm")
        for task in playing:
            if not task.cancelled() and task.exception() is not None:
                error = task.exception()
                probes[0].failures.append(f"{type(error).__name__}: {error}")

    asyncio.run(play())
    stop.send(
        (
            probes[0].me_ms,
            [sample for probe in probes for sample in probe.ack_ms],
            [failure for probe in probes for failure in probe.failures],
        )
    )


async def login_storm(
    server: str,
    players: int,
    password: str,
    prefix: str,
    quiet: float,
    retries: int,
    progress,
    movers: int = 1,
    nice: int = 0,
) -> dict:
    progress(f"registering {players} players and a probe of {movers}")
    registration = asyncio.Semaphore(8)

    async def register_one(name):
        async with registration:
            return await register_patiently(server, name, password)

    probe_logins = [
        await register_patiently(server, f"{prefix}_probe{n}", password) for n in range(movers)
    ]
    await asyncio.gather(*(register_one(f"{prefix}_{n}") for n in range(players)))

    # The probe plays in a process of its own: on the event loop of the storm's
    # 500 clients, its timings would be the loop's lag as much as the server's.
    context = multiprocessing.get_context("spawn")
    stop, stop_received = context.Pipe()
    prober = context.Process(
        target=_probe_process,
        args=(stop_received, server, [login["access"] for login in probe_logins]),
        daemon=True,
    )
    prober.start()
    # The probe's first requests open the server's connections and threads:
    # its warm-up, left out of the quiet figures.
    await asyncio.sleep(PROBE_WARM_UP)
    if nice:
        # On one machine with the server, the storm's clients must not take
        # its cores (this thread does their work; the probe keeps its priority).
        os.nice(nice)
    progress(f"{quiet:.0f} s quiet, then {players} logins at once")
    quiet_started = time.monotonic()
    quiet_started_wall = time.time()
    await asyncio.sleep(quiet)

    answers = []
    storm_started = time.monotonic()
    storm_started_wall = time.time()

    logged_in_after: list[float] = []

    async def log_in(n):
        # As a client should: a refusal is retried after Retry-After, with jitter.
        body = {"login": f"{prefix}_{n}", "password": password}
        for _ in range(retries + 1):
            started = time.monotonic()
            try:
                status, headers, answer = await request(server, "POST", "/api/auth/login/", body)
            except (OSError, asyncio.TimeoutError) as error:
                status, headers, answer = type(error).__name__, {}, None
            answers.append((n, status, headers, answer, time.monotonic() - started))
            if status == 200:
                logged_in_after.append(time.monotonic() - storm_started)
                return
            if status not in (429, 503) or "retry-after" not in headers:
                return
            await asyncio.sleep(wait_after_refusal(headers["retry-after"]))

    await asyncio.gather(*(log_in(n) for n in range(players)))
    storm_ended = time.monotonic()
    storm_ended_wall = time.time()
    progress(f"the storm lasted {storm_ended - storm_started:.1f} s; checking the tokens")
    stop.send("stop")
    me_ms, ack_ms, probe_failures = await asyncio.to_thread(stop.recv)
    prober.join()

    tokens_working = 0
    for _, status, _, answer, _ in answers:
        if status == 200:
            me_status, _, _ = await request(
                server, "GET", "/api/players/me/", token=answer["access"], timeout=10
            )
            tokens_working += me_status == 200
    statuses: dict[str, int] = {}
    for _, status, _, _, _ in answers:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    refused_without_retry_after = sum(
        1 for _, status, headers, _, _ in answers if status != 200 and "retry-after" not in headers
    )

    def split(samples):
        before = [(at, ms) for at, ms in samples if quiet_started <= at < storm_started]
        during = [(at, ms) for at, ms in samples if storm_started <= at <= storm_ended]
        return percentiles(before), percentiles(during)

    me_quiet, me_storm = split(me_ms)
    ack_quiet, ack_storm = split(ack_ms)
    ack_opening = percentiles(
        [(at, ms) for at, ms in ack_ms if storm_started <= at < storm_started + STORM_OPENING_S]
    )
    return {
        "mode": "logins",
        "server": server,
        "logins": players,
        "logged_in": len(logged_in_after),
        "all_logged_in_after_s": round(max(logged_in_after), 2) if logged_in_after else None,
        "attempts": len(answers),
        "statuses": statuses,
        "answer_s": percentiles([(0, seconds) for *_, seconds in answers]),
        "storm_s": round(storm_ended - storm_started, 2),
        # Wall-clock times, for whoever samples the machine meanwhile (bench/storms.py).
        "quiet_window": [quiet_started_wall, storm_started_wall],
        "storm_window": [storm_started_wall, storm_ended_wall],
        "ok_tokens_working": tokens_working,
        "ok": statuses.get("200", 0),
        "refused_without_retry_after": refused_without_retry_after,
        "me_ms_quiet": me_quiet,
        "me_ms_storm": me_storm,
        "ack_ms_quiet": ack_quiet,
        "ack_ms_storm": ack_storm,
        "ack_ms_storm_opening": ack_opening,
        "probe_failures": probe_failures[:20],
        "probe_failure_count": len(probe_failures),
    }


# The reconnect storm ---------------------------------------------------------------------


class Walker:
    """A prepared player that walks, and comes back to another server when its own dies."""

    def __init__(self, player, servers: list[str], index: int):
        self.player, self.servers = player, servers
        self.home = servers.index(player.server)
        self.index = index
        self.acked: list[tuple[float, float, float]] = []  # (wall time, lng, lat)
        self.sent: dict[int, tuple[float, float]] = {}
        self.seq = 0
        self.lost_at: float | None = None  # its socket closed after the kill
        self.back: dict[str, float] = {}  # open, authenticated, acked: seconds after the kill
        self.auth_s: list[float] = []
        self.started_at: tuple[float, float] | None = None  # lng, lat at the first login
        self.returned_to: dict | None = None  # the position the server had on return
        self.errors: list[str] = []
        self.retries: list[str] = []  # why a socket to come back on failed, after the kill

    async def play(self, until: float, killed: asyncio.Event, kill_time: list) -> None:
        server = self.home
        attempt = 0
        while time.monotonic() < until:
            url = self.servers[server].replace("http://", "ws://") + "/ws/game/"
            try:
                socket = await open_game_socket(url, until, open_timeout=10, max_queue=None)
                async with socket:
                    opened = time.monotonic()
                    if self.lost_at is not None:
                        self.back.setdefault("open", opened - kill_time[0])
                    await socket.send(
                        json.dumps({"type": "authenticate", "data": {"token": self.player.token}})
                    )
                    reply = json.loads(await asyncio.wait_for(socket.recv(), 30))
                    if reply["type"] != "authenticated":
                        raise RuntimeError(f"authenticate: {reply['data']}")
                    authenticated = time.monotonic()
                    self.auth_s.append(authenticated - opened)
                    position = reply["data"]["position"]
                    if self.lost_at is not None:
                        self.back.setdefault("authenticated", authenticated - kill_time[0])
                        self.returned_to = position
                    elif self.started_at is None:
                        self.started_at = (position["lng"], position["lat"])
                    self.player.lng, self.player.lat = position["lng"], position["lat"]
                    attempt = 0
                    await self.walk(socket, until, kill_time)
                    return
            except Exception as error:  # a closed or refused socket: come back elsewhere
                if killed.is_set() and self.lost_at is None:
                    self.lost_at = time.monotonic()
                elif killed.is_set():
                    self.retries.append(f"{type(error).__name__}: {error}")
                else:
                    self.errors.append(f"{type(error).__name__}: {error}")
                    if len(self.errors) > 5:
                        return
                attempt += 1
                server = (server + 1) % len(self.servers)
                # Every server tried once at once; after that a little backoff with jitter.
                if attempt >= len(self.servers):
                    await asyncio.sleep(
                        min(2.0, 0.1 * 2 ** (attempt - len(self.servers))) * random.random()
                    )

    async def walk(self, socket, until: float, kill_time: list) -> None:
        receiving = asyncio.create_task(self.receive(socket, kill_time))
        try:
            while time.monotonic() < until and not receiving.done():
                self.seq += 1
                heading = random.uniform(0, 2 * math.pi)
                lat = self.player.lat + 1.0 * math.cos(heading) / 111_320
                lng = self.player.lng + 1.0 * math.sin(heading) / (
                    111_320 * math.cos(math.radians(lat))
                )
                self.sent[self.seq] = (lng, lat)
                data = {"position": {"lat": lat, "lng": lng}, "seq": self.seq}
                await socket.send(json.dumps({"type": "player-move", "data": data}))
                await asyncio.sleep(1.0 + random.uniform(-0.1, 0.1))
            if receiving.done():
                receiving.result()  # the socket's end, raised
                raise ConnectionError("the socket closed")
        finally:
            receiving.cancel()

    async def receive(self, socket, kill_time: list) -> None:
        async for text in socket:
            message = json.loads(text)
            if message["type"] == "move-ack":
                position = message["data"]["position"]
                self.player.lng, self.player.lat = position["lng"], position["lat"]
                self.acked.append((time.time(), position["lng"], position["lat"]))
                if self.lost_at is not None and "acked" not in self.back:
                    self.back["acked"] = time.monotonic() - kill_time[0]
            elif message["type"] == "move-rejected":
                position = message["data"]["position"]
                self.player.lng, self.player.lat = position["lng"], position["lat"]
        raise ConnectionError("the socket closed")

    def age_of_return(self, killed_at_wall: float) -> str:
        """How long before the kill the position found on return had been acked."""
        if self.returned_to is None:
            return "never came back"
        lng, lat = self.returned_to["lng"], self.returned_to["lat"]
        last = [a for a in self.acked if a[0] <= killed_at_wall]
        for at, a_lng, a_lat in reversed(last):
            if abs(lng - a_lng) < SAME_PLACE_DEGREES and abs(lat - a_lat) < SAME_PLACE_DEGREES:
                return (
                    f"found the position acked {killed_at_wall - at:.2f} s before the kill; "
                    f"the last was acked {killed_at_wall - last[-1][0]:.2f} s before"
                )
        return f"found a position never acked; {len(last)} were"

    def position_kept(self, killed_at_wall: float, flush_interval: float) -> bool:
        """Whether the position found on return is no older than one flush interval before the kill."""
        if self.returned_to is None:
            return False
        before = [entry for entry in self.acked if entry[0] <= killed_at_wall]
        if not before:
            return True
        old_enough = [entry for entry in before if entry[0] <= killed_at_wall - flush_interval]
        # Any position acked from the last one older than a flush interval on is
        # fine; with none that old, so is the one the player started from.
        if old_enough:
            candidates = [entry for entry in before if entry[0] >= old_enough[-1][0]]
        else:
            candidates = [(0.0, *self.started_at), *before]
        lng, lat = self.returned_to["lng"], self.returned_to["lat"]
        return any(
            abs(lng - c_lng) < SAME_PLACE_DEGREES and abs(lat - c_lat) < SAME_PLACE_DEGREES
            for _, c_lng, c_lat in candidates
        )


async def reconnect_storm(
    config: Config, kill_pid: int, kill_after: float, after_kill: float,
    flush_interval: float, progress,
) -> dict:  # fmt: skip
    players = await prepare(config, progress)
    walkers = [Walker(player, list(config.servers), n) for n, player in enumerate(players)]
    killed = asyncio.Event()
    kill_time: list[float] = []
    until = time.monotonic() + kill_after + after_kill
    progress(f"{len(walkers)} players walking; the kill in {kill_after:.0f} s")
    tasks = []
    for walker in walkers:
        tasks.append(asyncio.create_task(walker.play(until, killed, kill_time)))
        await asyncio.sleep(1.0 / config.ramp)
    await asyncio.sleep(max(0.0, until - after_kill - time.monotonic()))
    kill_time.append(time.monotonic())
    killed_at_wall = time.time()
    os.kill(kill_pid, signal.SIGKILL)
    killed.set()
    progress(f"killed process {kill_pid}; players coming back for {after_kill:.0f} s")
    await asyncio.gather(*tasks)

    moved = [walker for walker in walkers if walker.lost_at is not None]
    back = {
        stage: [walker.back[stage] for walker in moved if stage in walker.back]
        for stage in ("open", "authenticated", "acked")
    }
    auth_after_kill = [walker.auth_s[-1] for walker in moved if walker.back.get("authenticated")]
    lost = [
        f"{walker.player.username}: {walker.age_of_return(killed_at_wall)}"
        for walker in moved
        if not walker.position_kept(killed_at_wall, flush_interval)
    ]
    errors = [error for walker in walkers for error in walker.errors]
    retries = collections.Counter(retry for walker in moved for retry in walker.retries)

    def seconds(values):
        return percentiles([(0, value) for value in values])

    return {
        "mode": "reconnect",
        "servers": list(config.servers),
        "players": len(walkers),
        "killed_pid": kill_pid,
        "players_of_the_killed_process": len(moved),
        "back": {stage: len(values) for stage, values in back.items()},
        "back_s": {stage: seconds(values) for stage, values in back.items()},
        "auth_s_after_kill": seconds(auth_after_kill),
        "auth_s_before_kill_median": round(
            statistics.median([w.auth_s[0] for w in walkers if w.auth_s] or [0]), 4
        ),
        "positions_lost": len(lost),
        "positions_lost_samples": lost[:10],
        "retries_after_kill": sum(retries.values()),
        "retry_reasons": dict(retries.most_common(5)),
        "errors_before_kill": len(errors),
        "error_samples": errors[:10],
    }


# Command line ----------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    summary, _, details = __doc__.strip().partition("\n\n")
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.storm",
        description=summary,
        epilog=details,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    modes = parser.add_subparsers(dest="mode", required=True)
    logins = modes.add_parser("logins", help="N logins at the same moment against one server")
    logins.add_argument("--server", default="http://127.0.0.1:8000")
    logins.add_argument("--players", type=int, default=100)
    logins.add_argument("--quiet", type=float, default=10.0, help="seconds probed before the storm")
    logins.add_argument(
        "--movers",
        type=int,
        default=4,
        help="probe players moving every 70 ms each: more samples, a steadier p99",
    )
    logins.add_argument(
        "--retries", type=int, default=0, help="times a refused login is tried again (Retry-After)"
    )
    logins.add_argument(
        "--nice",
        type=int,
        default=0,
        help="lower the storm clients' CPU priority by this much (a server on the same machine)",
    )
    reconnect = modes.add_parser("reconnect", help="kill one server; its players come back")
    reconnect.add_argument("--server", action="append", required=True, help="two or more")
    reconnect.add_argument("--players", type=int, default=100)
    reconnect.add_argument("--kill-pid", type=int, required=True, help="the process to SIGKILL")
    reconnect.add_argument("--kill-after", type=float, default=10.0, help="seconds of play first")
    reconnect.add_argument("--after-kill", type=float, default=20.0, help="seconds to come back")
    reconnect.add_argument(
        "--flush-interval", type=float, default=1.0, help="the servers' MOVEMENT_FLUSH_INTERVAL"
    )
    reconnect.add_argument("--ramp", type=float, default=100.0, help="connections per second")
    reconnect.add_argument("--radius", type=float, default=5000.0, help="metres of scatter")
    reconnect.add_argument(
        "--accounts",
        help="players to reuse, saved by an earlier run (made if missing): no registering",
    )
    for mode in (logins, reconnect):
        mode.add_argument("--json", dest="json_path", help="write the report here too")
    return parser


def main(argv=None) -> None:
    arguments = parser().parse_args(argv)

    def progress(line):
        print(line, file=sys.stderr, flush=True)

    if arguments.mode == "logins":
        config = Config(
            servers=(arguments.server.rstrip("/"),), players=arguments.players, duration=0,
            move_rate=1, ramp=1, centre=(0.0, 0.0), radius=0, mix={},
        )  # fmt: skip
        result = run_loop(
            login_storm(
                config.servers[0], arguments.players, config.password, config.prefix,
                arguments.quiet, arguments.retries, progress, movers=arguments.movers,
                nice=arguments.nice,
            )
        )  # fmt: skip
    else:
        if len(arguments.server) < 2:
            parser().error("reconnect needs two servers or more")
        config = Config(
            servers=tuple(server.rstrip("/") for server in arguments.server),
            players=arguments.players, duration=0, move_rate=1, ramp=arguments.ramp,
            centre=(0.0, 0.0), radius=arguments.radius, mix={}, accounts=arguments.accounts,
        )  # fmt: skip
        result = run_loop(
            reconnect_storm(
                config, arguments.kill_pid, arguments.kill_after, arguments.after_kill,
                arguments.flush_interval, progress,
            )
        )  # fmt: skip
    text = json.dumps(result, indent=2)
    if arguments.json_path:
        with open(arguments.json_path, "w") as out:
            out.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
