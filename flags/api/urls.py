from django.urls import re_path

from flags.api import views
from mmo.api.filters import UUID_PATTERN

FLAG = rf"^(?P<flag_id>{UUID_PATTERN})"

urlpatterns = [
    re_path(r"^$", views.FlagListView.as_view(), name="flag-list"),
    re_path(r"^spots/?$", views.FlagSpotsView.as_view(), name="flag-spots"),
    re_path(rf"{FLAG}/?$", views.FlagDetailView.as_view(), name="flag-detail"),
    re_path(rf"{FLAG}/harden/?$", views.FlagHardenView.as_view(), name="flag-harden"),
    re_path(rf"{FLAG}/takeover/?$", views.FlagTakeoverView.as_view(), name="flag-takeover"),
]
