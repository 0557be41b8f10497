"""The figures a run collects, and the report made of them."""

import math
import statistics
import time
from dataclasses import dataclass, field


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
    # CPU time the tool's own processes spent playing: on a machine that also
    # runs the server, what the tool takes is not the server's.
    cpu_seconds: float = 0.0
    ack_ms: list = field(default_factory=list)  # (seconds since start, milliseconds)
    neighbour_ms: list = field(default_factory=list)
    rest_ms: list = field(default_factory=list)
    # How late the tool's own event loop woke up for a timer: a reply waits
    # that long to be read, so the tool's latencies hold it as well as the server's.
    loop_lag_ms: list = field(default_factory=list)
    error_samples: list = field(default_factory=list)
    # Per client, over the steady part of the run (every player connected):
    # moves heard per second, bytes received per second, and how many players
    # it heard at (nearly) their full move rate: at least 80 % as often as it
    # moved itself (every simulated player moves at the same rate).
    heard_per_s: list = field(default_factory=list)
    bytes_per_s: list = field(default_factory=list)
    full_rate_movers: list = field(default_factory=list)
    # The same per window of HEARING_WINDOW_S: the median over a client's windows.
    full_rate_movers_per_window: list = field(default_factory=list)

    def steady_from(self, config) -> float:
        """When the last player has connected (monotonic): the crowd is complete."""
        return self.started + min(config.players / config.ramp + 1.0, config.duration / 2)

    def received(self, player, until: float, window_s: float) -> None:
        """
        Add what a client received, once its run ended; `window_s`: the
        length of the windows its hearing was also counted in.
        """
        seconds = min(time.monotonic(), until) - self.steady_from(player.config)
        if seconds < 1.0:
            return
        self.heard_per_s.append(sum(player.heard_from.values()) / seconds)
        self.bytes_per_s.append(player.bytes_received / seconds)
        full = max(1, 0.8 * player.acked_in_window)
        self.full_rate_movers.append(sum(1 for n in player.heard_from.values() if n >= full))
        windows = []
        for window in range(int(seconds // window_s)):  # the whole windows only
            full = max(1, 0.8 * player.acked_in_windows[window])
            heard = player.heard_in_windows.get(window, {})
            windows.append(sum(1 for n in heard.values() if n >= full))
        if windows:
            self.full_rate_movers_per_window.append(statistics.median(windows))

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 20:
            self.error_samples.append(what)

    def now(self) -> float:
        return time.monotonic() - self.started

    def absorb(self, other: "Stats") -> None:
        """Add the figures of another worker that started at the same moment."""
        for name in ("connected", "peak_connected", "moves_sent", "moves_acked",
                     "moves_rejected", "errors", "chats_sent", "rest_calls",
                     "cpu_seconds"):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("ack_ms", "neighbour_ms", "rest_ms", "loop_lag_ms"):
            getattr(self, name).extend(getattr(other, name))
            getattr(self, name).sort()
        for name in (
            "heard_per_s",
            "bytes_per_s",
            "full_rate_movers",
            "full_rate_movers_per_window",
        ):
            getattr(self, name).extend(getattr(other, name))
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


def spread(values) -> dict:
    """Over the clients: the smallest, median, 99th percentile and largest."""
    values = sorted(values)
    if not values:
        return {"min": None, "p50": None, "p99": None, "max": None, "clients": 0}

    def at(fraction):
        return round(values[min(len(values) - 1, int(math.ceil(fraction * len(values))) - 1)], 1)

    return {
        "min": round(values[0], 1),
        "p50": at(0.5),
        "p99": at(0.99),
        "max": round(values[-1], 1),
        "clients": len(values),
    }


def steady(config, stats: Stats) -> dict:
    """Latencies of the answers and moves received once every player had connected."""
    since = stats.steady_from(config) - stats.started
    return {
        "from_s": round(since, 2),
        "ack_ms": percentiles(sample for sample in stats.ack_ms if sample[0] >= since),
        "neighbour_ms": percentiles(sample for sample in stats.neighbour_ms if sample[0] >= since),
    }


def report(config, stats: Stats, refusals: dict[str, int]) -> dict:
    elapsed = max(stats.now(), 1e-9)
    return {
        "servers": list(config.servers),
        "players": config.players,
        "duration_s": round(elapsed, 2),
        "move_rate": config.move_rate,
        "flags_placed": 0 if config.crowd else config.players - sum(refusals.values()),
        "flags_refused": refusals,
        "connected": stats.peak_connected,
        "moves_sent": stats.moves_sent,
        "moves_acked": stats.moves_acked,
        "moves_rejected": stats.moves_rejected,
        "acked_share": round(stats.moves_acked / stats.moves_sent, 5) if stats.moves_sent else None,
        "moves_per_s": round(stats.moves_acked / elapsed, 1),
        "tool_cpu_seconds": round(stats.cpu_seconds, 3),
        "tool_cpu_cores": round(stats.cpu_seconds / elapsed, 3),
        "errors": stats.errors,
        "error_samples": stats.error_samples,
        "chats_sent": stats.chats_sent,
        "rest_calls": stats.rest_calls,
        "ack_ms": percentiles(stats.ack_ms),
        "neighbour_ms": percentiles(stats.neighbour_ms),
        "rest_ms": percentiles(stats.rest_ms),
        "tool_loop_lag_ms": percentiles(stats.loop_lag_ms),
        # The same once the last player has connected: the ramp is a surge of
        # logins (issue of its own), the rest is the crowd at play.
        "steady": steady(config, stats),
        "batched": config.batched,
        "per_client": {
            "moves_heard_per_s": spread(stats.heard_per_s),
            "bytes_received_per_s": spread(stats.bytes_per_s),
            "players_heard_at_full_rate": spread(stats.full_rate_movers),
            "players_heard_at_full_rate_per_window": spread(stats.full_rate_movers_per_window),
        },
        "series": {
            "ack_ms": stats.ack_ms[:: max(1, len(stats.ack_ms) // 5000)],
            "neighbour_ms": stats.neighbour_ms[:: max(1, len(stats.neighbour_ms) // 5000)],
        },
    }
