"""
Logs that stay readable under load.

- Expected events (a shed login, a client gone mid-request) are counted
  (`count`, read by `GET /api/internal/metrics`), not logged one by one.
- A message that repeats is written once per interval with how many like it
  were left out: `RateLimitFilter` on the console handler does that for every
  warning and error (the same logger, level and text: "Bad Request:
  /api/flags/" a thousand times is one line a minute), and `warn_every` does it
  for one call site whose message can flood with varying details.
"""

import logging
import threading
import time
from collections import Counter

_lock = threading.Lock()
EVENTS: Counter = Counter()


def count(event: str, n: int = 1) -> None:
    """Count an expected event instead of logging it."""
    with _lock:
        EVENTS[event] += n


def counted() -> dict[str, int]:
    with _lock:
        return dict(EVENTS)


class _Window:
    """For each key: when it was last let through, and how many were held back since."""

    def __init__(self):
        self.lock = threading.Lock()
        self.last: dict = {}
        self.held: Counter = Counter()

    def admit(self, key, interval: float, now: float) -> int | None:
        """None to hold this one back; else how many were held back before it."""
        with self.lock:
            last = self.last.get(key)
            if last is not None and now - last < interval:
                self.held[key] += 1
                return None
            if len(self.last) > 10_000:  # keys are templates; this only bounds a bug
                self.last.clear()
                self.held.clear()
            self.last[key] = now
            return self.held.pop(key, 0)


class RateLimitFilter(logging.Filter):
    """
    Let through the first warning or error of each kind per `interval` seconds;
    the next one let through says how many were left out meanwhile.
    """

    def __init__(self, interval: float = 60.0, level: int = logging.WARNING):
        super().__init__()
        self.interval, self.level = interval, level
        self.window = _Window()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.level:
            return True
        try:
            text = record.getMessage()
        except Exception:  # a bad format string: keyed by its template
            text = str(record.msg)
        key = (record.name, record.levelno, text[:300])
        held = self.window.admit(key, self.interval, time.monotonic())
        if held is None:
            return False
        if held:
            record.msg = f"{record.msg} ({held} more like this in the last {self.interval:.0f} s)"
        return True


_call_sites = _Window()


def warn_every(
    logger: logging.Logger, interval: float, message: str, *args, exc_info=False
) -> None:
    """`logger.warning(message, *args)` at most once per `interval` seconds for this message."""
    held = _call_sites.admit((logger.name, message), interval, time.monotonic())
    if held is None:
        return
    if held:
        message = f"{message} ({held} more like this in the last {interval:.0f} s)"
    logger.warning(message, *args, exc_info=exc_info)
