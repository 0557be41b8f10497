from django.urls import re_path

from chat.api import views

ROOM = r"^(?P<room_id>[a-z0-9][a-z0-9_-]{0,79})"

# Every route also answers without its trailing slash.
urlpatterns = [
    re_path(r"^$", views.RoomListView.as_view(), name="room-list"),
    re_path(rf"{ROOM}/?$", views.RoomDetailView.as_view(), name="room-detail"),
    re_path(rf"{ROOM}/members/?$", views.RoomMembersView.as_view(), name="room-members"),
    re_path(rf"{ROOM}/messages/?$", views.RoomMessagesView.as_view(), name="room-messages"),
]
