from django.urls import re_path

from mmo.api.filters import UUID_PATTERN
from movement.api import views

# Mounted beside the players' and flags' routes (mmo/urls.py): where players
# are is movement's, whatever the URL's prefix.
player_urlpatterns = [
    re_path(r"^$", views.PlayerListView.as_view(), name="player-list"),
    re_path(r"^me/position/?$", views.MyPositionView.as_view(), name="player-me-position"),
]

flag_urlpatterns = [
    re_path(
        rf"^(?P<flag_id>{UUID_PATTERN})/teleport/?$",
        views.TeleportView.as_view(),
        name="flag-teleport",
    ),
]
