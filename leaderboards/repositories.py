"""
Data access for leaderboards: the boards (cached), their records in the
database, which is the truth, and the ranks in Redis sorted sets, which are
a copy of it.

Ranks are ordered by score, then by player id (descending boards: the greater
id first), in Redis and in the database alike, so that a rank read from either
is the same.
"""

import logging
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.conf import settings
from django.core.cache import cache as django_cache
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from redis.exceptions import RedisError

from leaderboards import categories
from leaderboards.models import Leaderboard, LeaderboardRecord, LeaderboardSeason
from mmo import cache
from players.models import Player

logger = logging.getLogger(__name__)

# Rows per INSERT: SQLite takes at most 32,766 parameters in one statement.
_WRITE_CHUNK = 1000


class LeaderboardRepository:
    """Boards by key, cached: every read and write of a score looks its board up."""

    @staticmethod
    def cache_key(key: str) -> str:
        return cache.key("leaderboard", key)

    @classmethod
    def get(cls, key: str) -> Leaderboard | None:
        return cache.get_or_load(
            cls.cache_key(key),
            lambda: Leaderboard.objects.filter(pk=key).first(),
            timeout=cache.WORLD_TTL,
        )

    @staticmethod
    def get_fresh(key: str) -> Leaderboard | None:
        return Leaderboard.objects.filter(pk=key).first()

    @staticmethod
    def all() -> QuerySet[Leaderboard]:
        return Leaderboard.objects.order_by("key")

    @classmethod
    def invalidate(cls, key: str) -> None:
        cache.invalidate([cls.cache_key(key)])

    @staticmethod
    def create(**fields) -> Leaderboard:
        board = Leaderboard.objects.create(**fields)
        LeaderboardSeason.objects.create(
            leaderboard=board, number=board.season, started_at=board.season_started_at
        )
        return board

    @classmethod
    def create_missing(cls) -> list[str]:
        """The standard boards (leaderboards/categories.py) that did not exist, created."""
        created = categories.create_missing(Leaderboard, LeaderboardSeason)
        for key in created:
            cls.invalidate(key)
        return created

    @classmethod
    def advance_season(cls, board: Leaderboard, *, started_at: datetime) -> bool:
        """
        Start the season after `board.season`, unless another request did so
        first (False). The season that ends is closed at `started_at`.
        """
        with transaction.atomic():
            changed = Leaderboard.objects.filter(pk=board.pk, season=board.season).update(
                season=board.season + 1, season_started_at=started_at
            )
            if not changed:
                return False
            LeaderboardSeason.objects.update_or_create(
                leaderboard_id=board.pk,
                number=board.season,
                defaults={"ended_at": started_at},
                create_defaults={"started_at": board.season_started_at, "ended_at": started_at},
            )
            LeaderboardSeason.objects.create(
                leaderboard_id=board.pk, number=board.season + 1, started_at=started_at
            )
            cls.invalidate(board.pk)
        return True

    @staticmethod
    def seasons(key: str) -> QuerySet[LeaderboardSeason]:
        return LeaderboardSeason.objects.filter(leaderboard_id=key).order_by("-number")


class RecordRepository:
    """A board's records in the database, and ranks computed there."""

    @staticmethod
    def write(
        board: Leaderboard, season: int, scores: dict[str, int], *, now: datetime
    ) -> dict[str, int]:
        """
        Apply the board's operator to each player's record of the season (a
        missing record takes the score as it is), in one statement per
        thousand players; returns the stored score of each record that changed.
        """
        table = LeaderboardRecord._meta.db_table
        if board.operator == Leaderboard.Operator.INCREMENT:
            update = f"SET score = {table}.score + excluded.score, updated_at = excluded.updated_at"
        elif board.operator == Leaderboard.Operator.SET:
            update = "SET score = excluded.score, updated_at = excluded.updated_at"
        else:
            better = ">" if board.descending else "<"
            update = (
                "SET score = excluded.score, updated_at = excluded.updated_at "
                f"WHERE excluded.score {better} {table}.score"
            )
        player_pk = Player._meta.pk
        updated_at = connection.ops.adapt_datetimefield_value(now)
        # One order for every writer, so that two batches never wait on each other's rows.
        rows = [
            (
                board.pk,
                season,
                player_pk.get_db_prep_value(player_id, connection),
                score,
                updated_at,
            )
            for player_id, score in sorted(scores.items())
        ]
        stored = {}
        with connection.cursor() as cursor:
            for start in range(0, len(rows), _WRITE_CHUNK):
                chunk = rows[start : start + _WRITE_CHUNK]
                values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
                cursor.execute(
                    f"INSERT INTO {table} (leaderboard_id, season, player_id, score, updated_at) "
                    f"VALUES {values} "
                    f"ON CONFLICT (leaderboard_id, season, player_id) DO UPDATE {update} "
                    "RETURNING player_id, score",
                    [value for row in chunk for value in row],
                )
                stored.update(
                    (str(uuid.UUID(str(player_id))), score)
                    for player_id, score in cursor.fetchall()
                )
        return stored

    @staticmethod
    def of_season(key: str, season: int) -> QuerySet[LeaderboardRecord]:
        return LeaderboardRecord.objects.filter(leaderboard_id=key, season=season)

    @classmethod
    def scores(cls, key: str, season: int) -> Iterator[tuple[str, int]]:
        """Every (player id, score) of a season, streamed: what the sorted set is rebuilt from."""
        rows = cls.of_season(key, season).values_list("player_id", "score")
        for player_id, score in rows.iterator(chunk_size=10_000):
            yield str(player_id), score

    @classmethod
    def delete(cls, key: str, season: int, player_id) -> bool:
        deleted, _ = cls.of_season(key, season).filter(player_id=player_id).delete()
        return bool(deleted)

    @classmethod
    def score_of(cls, key: str, season: int, player_id) -> int | None:
        return (
            cls.of_season(key, season)
            .filter(player_id=player_id)
            .values_list("score", flat=True)
            .first()
        )

    @staticmethod
    def _ordering(board: Leaderboard) -> list[str]:
        return ["-score", "-player_id"] if board.descending else ["score", "player_id"]

    @classmethod
    def top(cls, board: Leaderboard, season: int, offset: int, limit: int) -> list[tuple[str, int]]:
        rows = (
            cls.of_season(board.pk, season)
            .order_by(*cls._ordering(board))
            .values_list("player_id", "score")[offset : offset + limit]
        )
        return [(str(player_id), score) for player_id, score in rows]

    @classmethod
    def count(cls, key: str, season: int) -> int:
        return cls.of_season(key, season).count()

    @classmethod
    def rank(cls, board: Leaderboard, season: int, player_id) -> tuple[int, int] | None:
        """(0-based rank, score) of the player's record, or None."""
        score = cls.score_of(board.pk, season, player_id)
        if score is None:
            return None
        if board.descending:
            ahead = Q(score__gt=score) | Q(score=score, player_id__gt=player_id)
        else:
            ahead = Q(score__lt=score) | Q(score=score, player_id__lt=player_id)
        return cls.of_season(board.pk, season).filter(ahead).count(), score

    @staticmethod
    def names(player_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """(username, display name) of each player, in one query."""
        rows = Player.objects.filter(pk__in=list(player_ids)).values_list(
            "pk", "username", "profile__display_name"
        )
        return {str(pk): (username, display or username) for pk, username, display in rows}


# RankIndex.write in one command: each player's rank before and after its new
# score (-1: not ranked), or nil while the set is incomplete (KEYS[2], the
# marker, missing; the scores are stored all the same). The distance-walked
# board takes every moving player's score each second: as a pipeline of three
# commands a player, packing and parsing them in Python cost more than the
# position flush it rides with.
WRITE_RANKED = """
local rank = ARGV[1] == '1' and 'ZREVRANK' or 'ZRANK'
local complete = redis.call('EXISTS', KEYS[2]) == 1
local ranks = {}
for i = 2, #ARGV, 2 do
    if complete then
        ranks[#ranks + 1] = redis.call(rank, KEYS[1], ARGV[i]) or -1
    end
    redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i])
    if complete then
        ranks[#ranks + 1] = redis.call(rank, KEYS[1], ARGV[i]) or -1
    end
end
if complete then
    return ranks
end
return false
"""


class RankIndex:
    """
    The ranks of a board's season in a Redis sorted set (member: player id,
    score: the record's score), beside a marker saying the set holds every
    record. Without the marker (Redis restarted or flushed, a write that could
    not reach it) the set is rebuilt from the database before it is read.

    Every method raises RedisError when Redis is out of reach; the services
    then compute ranks in the database.
    """

    REBUILD_LOCK_SECONDS = 60

    def __init__(self):
        from django_redis import get_redis_connection

        self.client = get_redis_connection("default")
        self._write_ranked = self.client.register_script(WRITE_RANKED)
        # Sets whose writes did not reach Redis: they must be rebuilt before use.
        self.stale: set[tuple[str, int]] = set()

    @staticmethod
    def key(board_key: str, season: int) -> str:
        # The cache's own prefix: each deployment (and test run) keeps to its keys.
        return django_cache.make_key(cache.key("lb", board_key, season))

    def _marker(self, board_key: str, season: int) -> str:
        return self.key(board_key, season) + ":complete"

    def is_complete(self, board_key: str, season: int) -> bool:
        self._forget_stale(board_key, season)
        return bool(self.client.exists(self._marker(board_key, season)))

    def _forget_stale(self, board_key: str, season: int) -> None:
        if (board_key, season) in self.stale:
            self.client.delete(self._marker(board_key, season))
            self.stale.discard((board_key, season))

    def rebuild(self, board_key: str, season: int, scores: Iterable[tuple[str, int]]) -> bool:
        """
        Fill the set from the database's records; False if another process is
        rebuilding it. Members already in the set stay as they are: a score
        written meanwhile is newer than the database read here.
        """
        key = self.key(board_key, season)
        lock = key + ":rebuilding"
        if not self.client.set(lock, 1, nx=True, ex=self.REBUILD_LOCK_SECONDS):
            return False
        try:
            batch = {}
            for player_id, score in scores:
                batch[player_id] = score
                if len(batch) >= 10_000:
                    self.client.zadd(key, batch, nx=True)
                    batch = {}
            if batch:
                self.client.zadd(key, batch, nx=True)
            self.client.set(self._marker(board_key, season), 1)
        finally:
            self.client.delete(lock)
        return True

    def write(
        self, board: Leaderboard, season: int, scores: dict[str, int]
    ) -> dict[str, tuple[int | None, int]] | None:
        """
        Store scores; returns each player's (rank before, rank after), or None
        when the set is incomplete (its ranks say nothing yet).
        """
        key = self.key(board.pk, season)
        arguments = [int(board.descending)]
        for player_id, score in scores.items():
            arguments += (player_id, score)
        try:
            self._forget_stale(board.pk, season)
            ranks = self._write_ranked(keys=[key, self._marker(board.pk, season)], args=arguments)
        except RedisError:
            self.stale.add((board.pk, season))
            raise
        if ranks is None:
            return None
        return {
            player_id: (
                None if ranks[2 * index] < 0 else ranks[2 * index],
                None if ranks[2 * index + 1] < 0 else ranks[2 * index + 1],
            )
            for index, player_id in enumerate(scores)
        }

    def remove(self, board_key: str, season: int, player_id: str) -> None:
        try:
            self.client.zrem(self.key(board_key, season), player_id)
        except RedisError:
            self.stale.add((board_key, season))
            raise

    def drop(self, board_key: str, season: int) -> None:
        key = self.key(board_key, season)
        self.client.delete(key, self._marker(board_key, season))

    def count(self, board_key: str, season: int) -> int:
        return self.client.zcard(self.key(board_key, season))

    def top(
        self, board: Leaderboard, season: int, offset: int, limit: int
    ) -> tuple[bool, list[tuple[str, int]], int]:
        """
        Whether the set is complete, and if so a page of (player id, score),
        best first, and the number of records: one round trip.
        """
        key = self.key(board.pk, season)
        self._forget_stale(board.pk, season)
        pipe = self.client.pipeline(transaction=False)
        pipe.exists(self._marker(board.pk, season))
        read = pipe.zrevrange if board.descending else pipe.zrange
        read(key, offset, offset + limit - 1, withscores=True)
        pipe.zcard(key)
        complete, rows, count = pipe.execute()
        return bool(complete), [(member.decode(), int(score)) for member, score in rows], count

    def rank(
        self, board: Leaderboard, season: int, player_id: str
    ) -> tuple[bool, tuple[int, int] | None]:
        """Whether the set is complete, and if so the player's (0-based rank, score): one round trip."""
        key = self.key(board.pk, season)
        self._forget_stale(board.pk, season)
        pipe = self.client.pipeline(transaction=False)
        pipe.exists(self._marker(board.pk, season))
        (pipe.zrevrank if board.descending else pipe.zrank)(key, player_id)
        pipe.zscore(key, player_id)
        complete, rank, score = pipe.execute()
        return bool(complete), None if rank is None else (rank, int(score))


_rank_index: RankIndex | None = None


def rank_index() -> RankIndex | None:
    """The process's RankIndex on Redis; None when the server runs without Redis."""
    global _rank_index
    if not settings.REDIS_URL:
        return None
    if _rank_index is None:
        _rank_index = RankIndex()
    return _rank_index
