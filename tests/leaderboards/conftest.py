import pytest

from leaderboards import services


@pytest.fixture
def boards(db):
    """The standard boards (a transactional test before this one may have emptied the table)."""
    services.leaderboards_seed()


@pytest.fixture
def weekly(boards):
    return services.leaderboard_create(
        key="weeklyKills", name="Kills this week", operator="increment", reset_schedule="weekly"
    )
