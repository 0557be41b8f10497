from django.urls import re_path

from areas.api import views

urlpatterns = [
    re_path(r"^$", views.AreaListView.as_view(), name="area-list"),
    re_path(
        r"^(?P<area_id>[-a-zA-Z0-9_]{1,64})/?$", views.AreaDetailView.as_view(), name="area-detail"
    ),
]
