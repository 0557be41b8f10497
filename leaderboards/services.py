"""
The leaderboard rules (docs/api.md, "Leaderboards"): seasons on a schedule,
scores written by the server in the transaction of what earned them, scores
of other categories posted only by trusted callers, and ranks read from Redis
(rebuilt from the database when it lost them) or, without Redis, from the
database.
"""

import calendar
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError

from leaderboards.models import Leaderboard
from leaderboards.repositories import LeaderboardRepository, RecordRepository, rank_index
from mmo import realtime
from players.repositories import InventoryRepository, PlayerRepository

logger = logging.getLogger(__name__)

# The boards the server writes itself (authoritative: nobody may post to them).
GOLD_SPENT = "goldSpent"
GOLD_COLLECTED = "goldCollected"
MOST_GOLD = "mostGold"
FLAGS_PLACED = "flagsPlaced"
DISTANCE_WALKED = "distanceWalked"


class LeaderboardError(Exception):
    """A refused leaderboard call; `message` is for the caller."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Entry:
    rank: int  # 1 for the first
    player_id: str
    username: str
    display_name: str
    score: int


@dataclass(frozen=True)
class Standing:
    """A page of a board's season, best first."""

    board: Leaderboard
    season: int
    count: int  # records in the season
    entries: list[Entry]


@dataclass(frozen=True)
class Around:
    """A player's record with the records just above and below it."""

    board: Leaderboard
    season: int
    rank: int | None  # None: the player has no record this season
    score: int | None
    entries: list[Entry]


# Seasons ----------------------------------------------------------------------------


def period_start(schedule: str, moment: datetime) -> datetime | None:
    """Start of the schedule's period holding `moment` (UTC midnights), None for `never`."""
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if schedule == Leaderboard.ResetSchedule.DAILY:
        return day
    if schedule == Leaderboard.ResetSchedule.WEEKLY:
        return day - timedelta(days=day.weekday())
    if schedule == Leaderboard.ResetSchedule.MONTHLY:
        return day.replace(day=1)
    return None


def next_reset_at(board: Leaderboard) -> datetime | None:
    """When the board's current season ends on its schedule; None if it never does."""
    start = period_start(board.reset_schedule, board.season_started_at)
    if start is None:
        return None
    if board.reset_schedule == Leaderboard.ResetSchedule.DAILY:
        return start + timedelta(days=1)
    if board.reset_schedule == Leaderboard.ResetSchedule.WEEKLY:
        return start + timedelta(days=7)
    return start + timedelta(days=calendar.monthrange(start.year, start.month)[1])


def leaderboard_current(*, key: str, now: datetime | None = None) -> Leaderboard:
    """The board, its season started anew if its schedule says the last one is over."""
    board = LeaderboardRepository.get(key)
    if board is None:
        raise LeaderboardError("not_found", f"There is no leaderboard {key[:50]!r}.")
    start = period_start(board.reset_schedule, now or timezone.now())
    if start is not None and start > board.season_started_at:
        LeaderboardRepository.advance_season(board, started_at=start)
        # Whoever advanced it, the database has the season now.
        board = LeaderboardRepository.get_fresh(key) or board
    return board


def _season(board: Leaderboard, season: int | None) -> int:
    if season is None:
        return board.season
    if not 1 <= season <= board.season:
        raise LeaderboardError(
            "invalid_season", f"`season` is 1 to {board.season} on this leaderboard."
        )
    return season


@transaction.atomic
def leaderboard_create(**fields) -> Leaderboard:
    board = LeaderboardRepository.create(**fields)
    LeaderboardRepository.invalidate(board.pk)
    return board


@transaction.atomic
def leaderboards_seed() -> list[str]:
    """Create the standard boards that are missing; returns their keys."""
    return LeaderboardRepository.create_missing()


@transaction.atomic
def leaderboard_reset(*, key: str, now: datetime | None = None) -> int:
    """Staff: end the current season now; returns the new season's number."""
    board = leaderboard_current(key=key, now=now)
    LeaderboardRepository.advance_season(board, started_at=now or timezone.now())
    return board.season + 1


@transaction.atomic
def record_remove(*, key: str, player_id, season: int | None = None) -> bool:
    """Staff: delete a player's record (a cheater's) from a season, the current one by default."""
    board = leaderboard_current(key=key)
    season = _season(board, season)
    removed = RecordRepository.delete(key, season, player_id)
    if removed:
        transaction.on_commit(lambda: _unindex(key, season, str(player_id)))
    return removed


def _unindex(key: str, season: int, player_id: str) -> None:
    index = rank_index()
    if index is not None:
        try:
            index.remove(key, season, player_id)
        except RedisError:
            logger.warning("could not remove %s from leaderboard %s in Redis", player_id, key)


# Writing scores ---------------------------------------------------------------------


def scores_record(
    *,
    key: str,
    scores: dict[str, int],
    now: datetime | None = None,
    notices: list | None = None,
) -> dict[str, int]:
    """
    Apply scores (player id → score) to a board's current season with its
    operator, in the caller's transaction; returns the stored score of each
    record that changed. Once committed, the ranks follow in Redis and each
    player whose rank changed is told; with `notices`, those events are
    appended to it for the caller to send instead.
    """
    if not scores:
        return {}
    now = now or timezone.now()
    board = leaderboard_current(key=key, now=now)
    stored = RecordRepository.write(board, board.season, scores, now=now)
    if stored:
        transaction.on_commit(lambda: _index(board, board.season, stored, notices))
    return stored


def _index(board: Leaderboard, season: int, stored: dict[str, int], notices) -> None:
    index = rank_index()
    if index is not None:
        try:
            ranks = index.write(board, season, stored)
        except RedisError:
            logger.warning("leaderboard %s: Redis missed a write; it is rebuilt on next use", board)
            return
        if ranks is None:  # the set is incomplete: nobody's rank is known yet
            return
        changed = {player: after for player, (before, after) in ranks.items() if before != after}
    else:
        # Without Redis (one embedded process) the database ranks them.
        changed = {}
        for player_id in stored:
            found = RecordRepository.rank(board, season, player_id)
            if found is not None:
                changed[player_id] = found[0]
    for player_id, rank in changed.items():
        group = realtime.player_group(player_id)
        event = realtime.leaderboard_rank(category=board.pk, rank=rank + 1, score=stored[player_id])
        if notices is None:
            realtime.emit(group, event)  # committed already: sent now
        else:
            notices.append((group, event))


def _record_own(key: str, scores: dict[str, int], **options) -> None:
    """A score the server saw; a board staff removed is skipped, never failing the game action."""
    try:
        scores_record(key=key, scores=scores, **options)
    except LeaderboardError:
        logger.debug("leaderboard %s is gone; score not recorded", key)


def toll_record(*, payer_id, owner_id, gold: int) -> None:
    """A toll paid: what the payer spent, what the owner collected and the gold both now hold."""
    if gold <= 0 or owner_id is None:
        return
    payer_id, owner_id = str(payer_id), str(owner_id)
    _record_own(GOLD_SPENT, {payer_id: gold})
    _record_own(GOLD_COLLECTED, {owner_id: gold})
    held = {
        player_id: inventory.gold
        for player_id in (payer_id, owner_id)
        if (inventory := InventoryRepository.get(player_id)) is not None
    }
    _record_own(MOST_GOLD, held)


def flag_placed_record(*, player_id) -> None:
    _record_own(FLAGS_PLACED, {str(player_id): 1})


def distance_record(*, walked: dict[str, int], notices: list) -> None:
    """Metres walked since the last position flush, written in the flush's transaction."""
    _record_own(DISTANCE_WALKED, walked, notices=notices)


@transaction.atomic
def score_submit(*, actor, key: str, player_id, score: int) -> Entry:
    """
    A trusted caller's score for another player: staff, or an account holding
    the `leaderboards.submit_score` permission (a game service). Never about
    oneself, never to a board the server keeps (authoritative).
    """
    if not (actor.is_staff or actor.has_perm("leaderboards.submit_score")):
        raise LeaderboardError(
            "forbidden", "Only staff and game services may post scores; players earn them in play."
        )
    if str(actor.pk) == str(player_id):
        raise LeaderboardError("own_score", "Nobody may post a score about themselves.")
    board = leaderboard_current(key=key)
    if board.authoritative:
        raise LeaderboardError(
            "authoritative", f"Only the server writes {board.pk}: it sees these scores itself."
        )
    if not 0 <= score <= settings.LEADERBOARD_MAX_SCORE:
        raise LeaderboardError(
            "invalid_score", f"`score` is 0 to {settings.LEADERBOARD_MAX_SCORE}."
        )
    player = PlayerRepository.get_by_id(player_id)
    if player is None or not player.is_active:
        raise LeaderboardError("invalid_player", "There is no such player.")
    scores_record(key=key, scores={str(player.pk): score})
    # The record as it now stands (a `best` board may have kept the old score).
    rank, score_now = RecordRepository.rank(board, board.season, player.pk)
    return _entries([(str(player.pk), score_now)], rank + 1)[0]


# Reading ranks ----------------------------------------------------------------------


def _from_redis(board: Leaderboard, season: int, read):
    """
    `read(index)` → (complete, answer) from the season's Redis set, rebuilt
    from the database first if it was lost; None: the database must answer
    (no Redis, Redis out of reach, or another process rebuilding the set).
    """
    index = rank_index()
    if index is None:
        return None
    try:
        complete, answer = read(index)
        if complete:
            return answer
        scores = RecordRepository.scores(board.pk, season)
        if not index.rebuild(board.pk, season, scores):
            return None
        logger.info("leaderboard %s season %d rebuilt in Redis", board.pk, season)
        complete, answer = read(index)
        return answer if complete else None
    except RedisError:
        return None


def _entries(rows: list[tuple[str, int]], first_rank: int) -> list[Entry]:
    names = RecordRepository.names(player_id for player_id, _ in rows)
    entries = []
    for offset, (player_id, score) in enumerate(rows):
        username, display_name = names.get(player_id, ("", ""))
        entries.append(Entry(first_rank + offset, player_id, username, display_name, score))
    return entries


def _top(board: Leaderboard, season: int, offset: int, limit: int) -> tuple[list, int]:
    def read(index):
        complete, rows, count = index.top(board, season, offset, limit)
        return complete, (rows, count)

    found = _from_redis(board, season, read)
    if found is not None:
        return found
    return (
        RecordRepository.top(board, season, offset, limit),
        RecordRepository.count(board.pk, season),
    )


_NO_RECORD = object()


def _rank(board: Leaderboard, season: int, player_id: str) -> tuple[int, int] | None:
    def read(index):
        complete, found = index.rank(board, season, player_id)
        return complete, _NO_RECORD if found is None else found

    found = _from_redis(board, season, read)
    if found is None:
        return RecordRepository.rank(board, season, player_id)
    return None if found is _NO_RECORD else found


def leaderboard_top(
    *, key: str, offset: int = 0, limit: int = 10, season: int | None = None
) -> Standing:
    board = leaderboard_current(key=key)
    season = _season(board, season)
    rows, count = _top(board, season, offset, limit)
    return Standing(board, season, count, _entries(rows, offset + 1))


def leaderboard_rank(*, key: str, player_id, season: int | None = None) -> tuple[int, int] | None:
    """(rank, score) of the player's record, rank 1 the first; None without a record."""
    board = leaderboard_current(key=key)
    found = _rank(board, _season(board, season), str(player_id))
    return None if found is None else (found[0] + 1, found[1])


def leaderboard_around(*, key: str, player_id, count: int = 5, season: int | None = None) -> Around:
    """The player's record with up to `count` records above it and `count` below."""
    board = leaderboard_current(key=key)
    season = _season(board, season)
    found = _rank(board, season, str(player_id))
    if found is None:
        return Around(board, season, None, None, [])
    rank, score = found
    offset = max(0, rank - count)
    rows, _ = _top(board, season, offset, rank - offset + count + 1)
    return Around(board, season, rank + 1, score, _entries(rows, offset + 1))


def leaderboards_rebuild(*, key: str | None = None) -> dict[str, int]:
    """
    Rebuild the Redis sets of the current seasons from the database (all
    boards, or one); returns the records loaded per board.
    """
    index = rank_index()
    if index is None:
        return {}
    loaded = {}
    boards = [leaderboard_current(key=key)] if key else list(LeaderboardRepository.all())
    for board in boards:
        board = leaderboard_current(key=board.pk)
        index.drop(board.pk, board.season)
        index.rebuild(board.pk, board.season, RecordRepository.scores(board.pk, board.season))
        loaded[board.pk] = index.count(board.pk, board.season)
    return loaded
