"""
The movement rules of the original game, checked in memory on every move.

Speed: a player may cover `max_speed` metres per second of server time. The
allowance is a bucket that refills at that speed up to `max_speed × burst_seconds
+ jitter`: a client reporting every few seconds may cover what it walked since
its last report, and GPS jitter of a few metres is forgiven, but over any span
of time the accepted path is never longer than `max_speed × span + capacity`.
(A per-move tolerance would not do: it would add up, move after move.)

Range: a player stays within `range_m` of one of their flags, or of the start
point while they have none.
"""

from dataclasses import dataclass

from django.conf import settings

from mmo.geo import distance_m

TOO_FAST = "too_fast"
OUT_OF_RANGE = "out_of_range"


@dataclass(frozen=True)
class MovementLimits:
    max_speed: float  # metres per second
    jitter_m: float  # forgiven at any time
    burst_seconds: float  # how long an allowance may be saved up
    range_m: float  # from the nearest anchor (own flag or start point)

    @classmethod
    def from_settings(cls) -> "MovementLimits":
        return cls(
            max_speed=settings.MOVEMENT_MAX_SPEED,
            jitter_m=settings.MOVEMENT_JITTER_M,
            burst_seconds=settings.MOVEMENT_BURST_SECONDS,
            range_m=settings.MOVEMENT_RANGE_M,
        )

    @property
    def capacity_m(self) -> float:
        return self.max_speed * self.burst_seconds + self.jitter_m


class SpeedAllowance:
    """The distance a player may still cover now; see the module docstring."""

    __slots__ = ("limits", "metres", "at")

    def __init__(self, limits: MovementLimits, *, now: float, metres: float | None = None):
        self.limits = limits
        self.metres = limits.jitter_m if metres is None else metres
        self.at = now

    def available(self, now: float) -> float:
        elapsed = max(0.0, now - self.at)
        return min(self.limits.capacity_m, self.metres + elapsed * self.limits.max_speed)

    def spend(self, distance: float, now: float) -> bool:
        """Take `distance` out of the allowance if it is there; True if it was."""
        available = self.available(now)
        if distance > available:
            return False
        self.metres = available - distance
        self.at = now
        return True


def nearest_anchor_m(lng: float, lat: float, anchors) -> float:
    """Distance to the nearest (lng, lat) anchor."""
    return min(distance_m(lng, lat, a_lng, a_lat) for a_lng, a_lat in anchors)


def within_range(lng: float, lat: float, anchors, limits: MovementLimits) -> bool:
    return nearest_anchor_m(lng, lat, anchors) <= limits.range_m


def heading(direction: float) -> float:
    """
    A direction in degrees, brought into [0, 360). Python's modulo alone rounds
    a tiny negative angle up to 360.0, which the database refuses.
    """
    wrapped = direction % 360.0
    return 0.0 if wrapped >= 360.0 else wrapped
