from django.urls import re_path

from flags.api import views
from mmo.api.filters import UUID_PATTERN

urlpatterns = [
    re_path(r"^$", views.FlagListView.as_view(), name="flag-list"),
    re_path(
        rf"^(?P<flag_id>{UUID_PATTERN})/?$", views.FlagDetailView.as_view(), name="flag-detail"
    ),
]
