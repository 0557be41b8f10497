"""
The game's ASGI application with a probe of the event loop's stalls beside it:
serve it with `--app bench.stall_probe:application` (bench/capacity.py) and
the process writes, every 5 s, to STALL_PROBE_PATH (JSON):

- how late a 5 ms timer woke up (the loop's lag), as a histogram and the
  longest lags with the moment they ended;
- the garbage collector's pauses per generation (gc.callbacks), in any
  thread, and how many ran outside the event loop's thread;
- the wall time of the crowd's ticks and of the position flush with its
  presence refresh, the periodic work most likely to hold the loop.

What it measures is what a move waiting on this process waits for.
"""

import asyncio
import atexit
import gc
import json
import os
import threading
import time

from mmo.asgi import application as game_application

LAG_PERIOD_S = 0.005
BUCKETS_MS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


class Histogram:
    def __init__(self):
        self.counts = [0] * (len(BUCKETS_MS) + 1)
        self.total_ms = 0.0
        self.longest: list[tuple[float, float]] = []  # (ms, when)

    def add(self, ms: float, when: float) -> None:
        self.total_ms += ms
        self.counts[next((n for n, b in enumerate(BUCKETS_MS) if ms < b), len(BUCKETS_MS))] += 1
        if len(self.longest) < 20 or ms > self.longest[-1][0]:
            self.longest.append((round(ms, 1), round(when, 2)))
            self.longest.sort(reverse=True)
            del self.longest[20:]

    def summary(self) -> dict:
        labels = [f"<{b}" for b in BUCKETS_MS] + [f">={BUCKETS_MS[-1]}"]
        return {
            "count": sum(self.counts),
            "total_ms": round(self.total_ms, 1),
            "histogram_ms": dict(zip(labels, self.counts, strict=True)),
            "longest_ms_at": self.longest,
        }


class Probe:
    def __init__(self, path: str):
        self.path = path
        self.started = time.monotonic()
        self.lag = Histogram()
        self.gc = {generation: Histogram() for generation in range(3)}
        self.timed: dict[str, Histogram] = {}
        self._gc_started = 0.0
        self.gc_off_loop = 0  # collections run by other threads than the event loop's
        self._running = False
        gc.callbacks.append(self._on_gc)

    def now(self) -> float:
        return time.monotonic() - self.started

    def _on_gc(self, phase: str, info: dict) -> None:
        # A collection holds the GIL throughout, whichever thread runs it (a
        # login's, the flush's): the event loop waits for all of them alike.
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            ms = (time.perf_counter() - self._gc_started) * 1000
            self.gc[info["generation"]].add(ms, self.now())
            if threading.current_thread() is not threading.main_thread():
                self.gc_off_loop += 1

    def time(self, owner, name: str) -> None:
        """Time every call of the coroutine method `owner.name`."""
        original = getattr(owner, name)
        histogram = self.timed[f"{owner.__name__}.{name}"] = Histogram()

        async def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                histogram.add((time.perf_counter() - started) * 1000, self.now())

        setattr(owner, name, timed)

    def start(self) -> None:
        if not self._running:
            self._running = True
            asyncio.get_running_loop().create_task(self._watch())
            asyncio.get_running_loop().create_task(self._write_forever())

    async def _watch(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(LAG_PERIOD_S)
            late = (time.perf_counter() - before - LAG_PERIOD_S) * 1000
            self.lag.add(max(late, 0.0), self.now())

    async def _write_forever(self) -> None:
        while True:
            await asyncio.sleep(5.0)
            self.write()

    def write(self) -> None:
        summary = {
            "seconds": round(self.now(), 1),
            "loop_lag": self.lag.summary(),
            "gc": {f"gen{g}": h.summary() for g, h in self.gc.items()},
            "gc_off_loop": self.gc_off_loop,
            "timed": {name: h.summary() for name, h in self.timed.items()},
        }
        with open(self.path + ".tmp", "w") as out:
            json.dump(summary, out)
        os.replace(self.path + ".tmp", self.path)


probe = Probe(os.environ.get("STALL_PROBE_PATH", f"/tmp/stall-probe-{os.getpid()}.json"))
atexit.register(probe.write)


def _time_periodic_work() -> None:
    from movement.crowd import Crowd
    from movement.world import World

    probe.time(Crowd, "tick")
    probe.time(World, "flush")
    probe.time(World, "_refresh_presence")


_time_periodic_work()


async def application(scope, receive, send):
    probe.start()
    return await game_application(scope, receive, send)
