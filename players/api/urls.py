from django.urls import re_path

from mmo.api.filters import UUID_PATTERN
from players.api import views

# Every route also answers without its trailing slash.
auth_urlpatterns = [
    re_path(r"^register/?$", views.RegisterView.as_view(), name="auth-register"),
    re_path(r"^login/?$", views.LoginView.as_view(), name="auth-login"),
    re_path(r"^refresh/?$", views.RefreshView.as_view(), name="auth-refresh"),
    re_path(r"^logout/?$", views.LogoutView.as_view(), name="auth-logout"),
    re_path(r"^password/?$", views.PasswordChangeView.as_view(), name="auth-password"),
    re_path(r"^sessions/?$", views.SessionListView.as_view(), name="auth-sessions"),
    re_path(
        rf"^sessions/(?P<session_id>{UUID_PATTERN})/?$",
        views.SessionDetailView.as_view(),
        name="auth-session-detail",
    ),
]

player_urlpatterns = [
    re_path(r"^me/?$", views.MeView.as_view(), name="player-me"),
    re_path(r"^me/inventory/?$", views.MyInventoryView.as_view(), name="player-me-inventory"),
    re_path(
        rf"^(?P<player_id>{UUID_PATTERN})/?$",
        views.PlayerDetailView.as_view(),
        name="player-detail",
    ),
]
