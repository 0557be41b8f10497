"""Rate limits kept in memory, per connection."""


class TokenBucket:
    """`rate` events per second on average, `burst` at once."""

    __slots__ = ("rate", "burst", "tokens", "at")

    def __init__(self, rate: float, burst: float, now: float):
        self.rate, self.burst = rate, burst
        self.tokens, self.at = float(burst), now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class WindowCounter:
    """How many events happened in the last `seconds`."""

    __slots__ = ("seconds", "events")

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.events: list[float] = []

    def add(self, now: float) -> int:
        horizon = now - self.seconds
        self.events = [at for at in self.events if at > horizon]
        self.events.append(now)
        return len(self.events)
