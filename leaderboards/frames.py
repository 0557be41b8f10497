"""Boards and records as the socket and the REST API show them (camelCase keys)."""

from leaderboards import services
from leaderboards.models import Leaderboard


def board_frame(board: Leaderboard) -> dict:
    next_reset = services.next_reset_at(board)
    return {
        "key": board.pk,
        "name": board.name,
        "sortOrder": board.sort_order,
        "operator": board.operator,
        "resetSchedule": board.reset_schedule,
        "authoritative": board.authoritative,
        "season": board.season,
        "seasonStartedAt": board.season_started_at.isoformat(),
        "nextResetAt": next_reset.isoformat() if next_reset else None,
    }


def entry_frame(entry: services.Entry) -> dict:
    return {
        "rank": entry.rank,
        "playerId": entry.player_id,
        "username": entry.username,
        "displayName": entry.display_name,
        "score": entry.score,
    }
