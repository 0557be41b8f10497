"""
Who is online and where, across every server process: the answer to
`get-players` and to "is this chat recipient online".

Each process refreshes its own players once per flush interval (not per move),
so listed positions lag by at most that interval. An entry not refreshed for
PRESENCE_TTL seconds belongs to a process that died and is ignored, then pruned.
On Redis the store is a geo set, a "last seen" sorted set, a hash of details
and a set per area; embedded, it is a dictionary of this single process.
"""

import asyncio
import json
import time
from dataclasses import dataclass

from django.conf import settings

from mmo.geo import distance_m


@dataclass(frozen=True)
class PresenceEntry:
    player_id: str
    username: str
    display_name: str
    lng: float
    lat: float
    direction: float
    area_id: str | None

    def encoded(self) -> str:
        """The entry as stored in Redis (dataclasses.asdict is several times slower)."""
        return json.dumps(
            {
                "player_id": self.player_id,
                "username": self.username,
                "display_name": self.display_name,
                "lng": self.lng,
                "lat": self.lat,
                "direction": self.direction,
                "area_id": self.area_id,
            }
        )

    def frame(self) -> dict:
        return {
            "playerId": self.player_id,
            "username": self.username,
            "displayName": self.display_name,
            "position": {"lat": self.lat, "lng": self.lng},
            "direction": self.direction,
            "area": self.area_id,
        }


def _in_box(entry: PresenceEntry, box) -> bool:
    min_lng, min_lat, max_lng, max_lat = box
    return min_lng <= entry.lng <= max_lng and min_lat <= entry.lat <= max_lat


class LocalPresence:
    """One process's players: the embedded configuration."""

    def __init__(self):
        self._entries: dict[str, tuple[PresenceEntry, float]] = {}

    async def refresh(self, entries: list[PresenceEntry], still_here=()) -> bool:
        """Store `entries` and mark `still_here` as seen; False if one of those was unknown."""
        now = time.time()
        for entry in entries:
            self._entries[entry.player_id] = (entry, now)
        complete = True
        for player_id in still_here:
            if player_id in self._entries:
                self._entries[player_id] = (self._entries[player_id][0], now)
            else:
                complete = False
        return complete

    async def remove(self, player_id: str) -> None:
        self._entries.pop(player_id, None)

    def _live(self):
        horizon = time.time() - settings.PRESENCE_TTL
        return [entry for entry, seen in self._entries.values() if seen >= horizon]

    async def in_box(self, box, limit: int) -> list[PresenceEntry]:
        return [entry for entry in self._live() if _in_box(entry, box)][:limit]

    async def in_area(self, area_id: str, limit: int) -> list[PresenceEntry]:
        return [entry for entry in self._live() if entry.area_id == area_id][:limit]

    async def is_online(self, player_id: str) -> bool:
        return any(entry.player_id == player_id for entry in self._live())

    async def clear(self) -> None:
        self._entries.clear()


# Redis's geo index covers latitudes up to this.
_REDIS_GEO_MAX_LAT = 85.05112878


class RedisPresence:
    """Every process's players, in Redis."""

    def __init__(self, redis, prefix: str):
        self.redis = redis
        self.geo_key = f"{prefix}:online:geo"
        self.seen_key = f"{prefix}:online:seen"
        self.info_key = f"{prefix}:online:info"
        self.area_prefix = f"{prefix}:online:area:"

    async def refresh(self, entries: list[PresenceEntry], still_here=()) -> bool:
        """
        Store `entries` (players who moved) and mark them and `still_here` as
        seen now. False if one of `still_here` had no entry any more (Redis
        restarted, or pruned it): the caller then sends every entry again.
        """
        written = {entry.player_id for entry in entries}
        kept = [player_id for player_id in still_here if player_id not in written]
        if not written and not kept:
            return True
        now = time.time()
        # One command per key, however many entries: a process refreshes all
        # of its moving players each second, and thousands of commands, each
        # packed and answered on the event loop, held it for tens of milliseconds.
        places, details, areas = [], {}, {}
        for entry in entries:
            lat = max(-_REDIS_GEO_MAX_LAT, min(_REDIS_GEO_MAX_LAT, entry.lat))
            places += (entry.lng, lat, entry.player_id)
            details[entry.player_id] = entry.encoded()
            if entry.area_id:
                areas.setdefault(entry.area_id, []).append(entry.player_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            if entries:
                pipe.geoadd(self.geo_key, places)
                pipe.hset(self.info_key, mapping=details)
            for area_id, player_ids in areas.items():
                pipe.sadd(self.area_prefix + area_id, *player_ids)
            if written:
                pipe.zadd(self.seen_key, dict.fromkeys(written, now))
            if kept:
                # Only players Redis still knows: XX never adds, CH counts the updated.
                pipe.zadd(self.seen_key, dict.fromkeys(kept, now), xx=True, ch=True)
            results = await pipe.execute()
        return not kept or results[-1] == len(kept)

    async def remove(self, player_id: str) -> None:
        info = await self.redis.hget(self.info_key, player_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrem(self.geo_key, player_id)
            pipe.zrem(self.seen_key, player_id)
            pipe.hdel(self.info_key, player_id)
            if info:
                area_id = json.loads(info).get("area_id")
                if area_id:
                    pipe.srem(self.area_prefix + area_id, player_id)
            await pipe.execute()

    async def _entries(self, player_ids) -> list[PresenceEntry]:
        """Details of the given players that are still fresh; stale ones are pruned."""
        player_ids = [pid.decode() if isinstance(pid, bytes) else pid for pid in player_ids]
        if not player_ids:
            return []
        horizon = time.time() - settings.PRESENCE_TTL
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zmscore(self.seen_key, player_ids)
            pipe.hmget(self.info_key, player_ids)
            seen, infos = await pipe.execute()
        entries, stale = [], []
        for player_id, seen_at, info in zip(player_ids, seen, infos, strict=True):
            if seen_at is None or seen_at < horizon or info is None:
                stale.append(player_id)
            else:
                entries.append(PresenceEntry(**json.loads(info)))
        for player_id in stale:
            await self.remove(player_id)
        return entries

    async def in_box(self, box, limit: int) -> list[PresenceEntry]:
        min_lng, min_lat, max_lng, max_lat = box
        if max_lng - min_lng > 90 or max_lat - min_lat > 45:
            # A box this wide is most of the world: everyone online, then filtered.
            horizon = time.time() - settings.PRESENCE_TTL
            player_ids = await self.redis.zrangebyscore(self.seen_key, horizon, "+inf")
        else:
            min_lat = max(min_lat, -_REDIS_GEO_MAX_LAT)
            max_lat = min(max_lat, _REDIS_GEO_MAX_LAT)
            if min_lat > max_lat:
                return []
            center_lng, center_lat = (min_lng + max_lng) / 2, (min_lat + max_lat) / 2
            width = distance_m(min_lng, center_lat, max_lng, center_lat)
            height = distance_m(center_lng, min_lat, center_lng, max_lat)
            # Redis searches a box in metres around the centre; a slightly
            # larger one, then the exact lng/lat test, covers the curvature.
            player_ids = await self.redis.geosearch(
                self.geo_key,
                longitude=center_lng,
                latitude=center_lat,
                width=width * 1.02 + 1,
                height=height * 1.02 + 1,
                unit="m",
            )
        entries = await self._entries(player_ids)
        return [entry for entry in entries if _in_box(entry, box)][:limit]

    async def in_area(self, area_id: str, limit: int) -> list[PresenceEntry]:
        player_ids = await self.redis.smembers(self.area_prefix + area_id)
        entries = await self._entries(list(player_ids))
        moved_on = [entry.player_id for entry in entries if entry.area_id != area_id]
        if moved_on:  # players who left the area since they were added to its set
            await self.redis.srem(self.area_prefix + area_id, *moved_on)
        return [entry for entry in entries if entry.area_id == area_id][:limit]

    async def clear(self) -> None:
        """Forget everyone (tests)."""
        keys = [
            key async for key in self.redis.scan_iter(match=f"{self.geo_key.rsplit(':', 1)[0]}:*")
        ]
        if keys:
            await self.redis.delete(*keys)

    async def is_online(self, player_id: str) -> bool:
        seen_at = await self.redis.zscore(self.seen_key, player_id)
        return seen_at is not None and seen_at >= time.time() - settings.PRESENCE_TTL


class Arrivals:
    """
    Players listed as online the moment they enter the world, not only at the
    next periodic refresh, with one write for all who enter meanwhile.

    Written one by one, a storm of returning players (a process died, and its
    players came back to this one) made as many concurrent writes as players,
    each on a connection of its own: the pool grew by hundreds, every new
    connection a handshake with Redis. Here at most one write is in flight;
    those who enter while it is written go together in the next.
    """

    def __init__(self, presence):
        self.presence = presence
        self._waiting: list[PresenceEntry] = []
        self._next: asyncio.Task | None = None  # the write the waiting entries go in
        self._in_flight: asyncio.Task | None = None

    async def write(self, entry: PresenceEntry) -> None:
        """Return once `entry` is written; raise what the write raised."""
        self._waiting.append(entry)
        if self._next is None:
            self._next = asyncio.ensure_future(self._write_after(self._in_flight))
        # Shielded: a caller that goes away leaves the others' write running.
        await asyncio.shield(self._next)

    async def _write_after(self, previous: asyncio.Task | None) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # whatever became of it
        else:
            await asyncio.sleep(0)  # the rest of this turn's arrivals join
        self._in_flight, self._next = self._next, None
        entries, self._waiting = self._waiting, []
        await self.presence.refresh(entries)
