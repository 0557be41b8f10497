from django.urls import re_path

from leaderboards.api import views
from mmo.api.filters import UUID_PATTERN

BOARD = r"^(?P<key>[A-Za-z0-9_-]{1,50})"

# Every route also answers without its trailing slash.
urlpatterns = [
    re_path(r"^$", views.LeaderboardListView.as_view(), name="leaderboard-list"),
    re_path(rf"{BOARD}/?$", views.LeaderboardDetailView.as_view(), name="leaderboard-detail"),
    re_path(
        rf"{BOARD}/around/(?P<player_id>{UUID_PATTERN}|me)/?$",
        views.LeaderboardAroundView.as_view(),
        name="leaderboard-around",
    ),
    re_path(
        rf"{BOARD}/seasons/?$", views.LeaderboardSeasonsView.as_view(), name="leaderboard-seasons"
    ),
    re_path(
        rf"{BOARD}/update/?$", views.LeaderboardUpdateView.as_view(), name="leaderboard-update"
    ),
]
