"""Moderation in the admin: rooms, messages, mutes."""

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import check_password
from django.urls import reverse
from django.utils import timezone

from chat.models import ChatMessage, ChatMute, ChatRoom

pytestmark = pytest.mark.django_db


@pytest.fixture
def message(player, rooms):
    return ChatMessage.objects.create(
        room_id="trade", sender=player, text="buy gold cheap", created_at=timezone.now()
    )


@pytest.mark.smoke
def test_staff_sees_every_chat_admin_page(staff_client, message, player):
    mute = ChatMute.objects.create(player=player, until=timezone.now() + timedelta(hours=1))
    for url in [
        reverse("admin:chat_chatroom_changelist"),
        reverse("admin:chat_chatroom_add"),
        reverse("admin:chat_chatroom_change", args=["vault"]),
        reverse("admin:chat_chatmessage_changelist") + "?q=gold",
        reverse("admin:chat_chatmessage_change", args=[message.pk]),
        reverse("admin:chat_chatmute_changelist"),
        reverse("admin:chat_chatmute_add"),
        reverse("admin:chat_chatmute_change", args=[mute.pk]),
    ]:
        response = staff_client.get(url)
        assert response.status_code == 200, url
    found = staff_client.get(reverse("admin:chat_chatmessage_changelist") + "?q=gold")
    assert "buy gold cheap" in found.content.decode()
    assert (
        "argon2"
        not in staff_client.get(
            reverse("admin:chat_chatroom_change", args=["vault"])
        ).content.decode()
    )


def test_staff_create_a_private_room_with_a_hashed_password(staff_client):
    response = staff_client.post(
        reverse("admin:chat_chatroom_add"),
        {
            "id": "council",
            "name": "Council",
            "kind": "private",
            "new_password": "moot",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    room = ChatRoom.objects.get(pk="council")
    assert check_password("moot", room.password) and room.password.startswith("argon2")


def test_a_private_room_needs_a_password(staff_client):
    response = staff_client.post(
        reverse("admin:chat_chatroom_add"),
        {
            "id": "council",
            "name": "Council",
            "kind": "private",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200
    assert "A private room needs a password." in response.content.decode()


def test_staff_delete_messages_in_bulk(staff_client, message):
    response = staff_client.post(
        reverse("admin:chat_chatmessage_changelist"),
        {"action": "delete_selected", "_selected_action": [message.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not ChatMessage.objects.exists()


def test_staff_mute_the_senders_of_messages(staff_client, staff, message, player):
    response = staff_client.post(
        reverse("admin:chat_chatmessage_changelist"),
        {"action": "mute_senders_60", "_selected_action": [message.pk]},
    )

    assert response.status_code == 302
    mute = ChatMute.objects.get(player=player)
    assert mute.muted_by == staff
    assert timedelta(minutes=59) < mute.until - timezone.now() <= timedelta(minutes=60)


def test_a_room_id_is_a_lowercase_slug(staff_client):
    response = staff_client.post(
        reverse("admin:chat_chatroom_add"),
        {
            "id": "Council",
            "name": "Council",
            "kind": "public",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200
    assert not ChatRoom.objects.filter(name="Council").exists()
