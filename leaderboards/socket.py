"""
Leaderboards on the game's socket: the boards, the top of one, a player's
record with those around it, and `player-rank-updated` when the player's rank
on a board changes (at most once per LEADERBOARD_RANK_UPDATE_INTERVAL per
board, the latest rank last). docs/protocol.md describes them.
"""

import asyncio

from channels.db import database_sync_to_async
from django.conf import settings

from leaderboards import services
from leaderboards.frames import board_frame, entry_frame
from leaderboards.repositories import LeaderboardRepository
from mmo.socket.protocol import ProtocolError
from mmo.socket.registry import event, integer, message, registry, text


class RankUpdates:
    """
    One connection's `player-rank-updated` frames, throttled per board: a
    change inside the interval waits for its end, and only the latest is sent.
    """

    def __init__(self, connection):
        self.connection = connection
        self.sent_at: dict[str, float] = {}
        self.waiting: dict[str, dict] = {}
        self.timers: dict[str, asyncio.TimerHandle] = {}

    async def heard(self, category: str, data: dict) -> None:
        interval = settings.LEADERBOARD_RANK_UPDATE_INTERVAL
        now = self.connection.world.clock()
        since = now - self.sent_at.get(category, -interval)
        if since >= interval and category not in self.timers:
            await self._send(category, data)
            return
        self.waiting[category] = data
        if category not in self.timers:
            loop = asyncio.get_running_loop()
            self.timers[category] = loop.call_later(
                interval - since, lambda: loop.create_task(self._send_waiting(category))
            )

    async def _send_waiting(self, category: str) -> None:
        self.timers.pop(category, None)
        data = self.waiting.pop(category, None)
        if data is not None:
            await self._send(category, data)

    async def _send(self, category: str, data: dict) -> None:
        self.sent_at[category] = self.connection.world.clock()
        try:
            await self.connection.send_frame("player-rank-updated", data)
        except Exception:
            pass  # the connection is closing

    def stop(self) -> None:
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()
        self.waiting.clear()


@registry.on_authenticated
async def hear_rank_updates(connection):
    connection.rank_updates = RankUpdates(connection)


@registry.on_leaving
async def stop_rank_updates(connection):
    updates = getattr(connection, "rank_updates", None)
    if updates is not None:
        updates.stop()


@event("leaderboard.rank")
async def on_leaderboard_rank(connection, event):
    updates = getattr(connection, "rank_updates", None)
    if connection.live is None or updates is None:
        return
    data = {"category": event["category"], "rank": event["rank"], "score": event["score"]}
    await updates.heard(event["category"], data)


def _refused(error: services.LeaderboardError) -> ProtocolError:
    return ProtocolError(error.code, error.message)


def _bounded(value: int, name: str, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ProtocolError("invalid_data", f"`{name}` is {low} to {high}.")
    return value


@message("get-leaderboards")
async def get_leaderboards(connection, data, now):
    boards = await database_sync_to_async(lambda: list(LeaderboardRepository.all()))()
    await connection.send_frame(
        "leaderboards-list", {"leaderboards": [board_frame(board) for board in boards]}
    )


@message(
    "get-leaderboard",
    schema={
        "category": text(max_length=50),
        "limit": integer(default=10),
        "offset": integer(default=0),
        "season": integer(),
    },
)
async def get_leaderboard(connection, data, now):
    limit = _bounded(data["limit"], "limit", 1, settings.LEADERBOARD_MAX_LIMIT)
    offset = _bounded(data["offset"], "offset", 0, 10**9)
    player_id = connection.live.player_id

    def read():
        standing = services.leaderboard_top(
            key=data["category"], offset=offset, limit=limit, season=data["season"]
        )
        mine = services.leaderboard_rank(
            key=data["category"], player_id=player_id, season=standing.season
        )
        return standing, mine

    try:
        standing, mine = await database_sync_to_async(read)()
    except services.LeaderboardError as error:
        raise _refused(error) from error
    await connection.send_frame(
        "leaderboard-data",
        {
            "category": standing.board.pk,
            "name": standing.board.name,
            "season": standing.season,
            "count": standing.count,
            "entries": [entry_frame(entry) for entry in standing.entries],
            "player": None if mine is None else {"rank": mine[0], "score": mine[1]},
        },
    )


@message(
    "get-leaderboard-around",
    schema={"category": text(max_length=50), "count": integer(default=5), "season": integer()},
)
async def get_leaderboard_around(connection, data, now):
    count = _bounded(data["count"], "count", 0, settings.LEADERBOARD_MAX_LIMIT // 2)
    try:
        around = await database_sync_to_async(services.leaderboard_around)(
            key=data["category"],
            player_id=connection.live.player_id,
            count=count,
            season=data["season"],
        )
    except services.LeaderboardError as error:
        raise _refused(error) from error
    await connection.send_frame(
        "leaderboard-around",
        {
            "category": around.board.pk,
            "season": around.season,
            "rank": around.rank,
            "score": around.score,
            "entries": [entry_frame(entry) for entry in around.entries],
        },
    )
