"""The rooms' REST API: rooms, members, history, and who may read what."""

import pytest
from django.utils import timezone

from chat.models import ChatMembership, ChatMessage, ChatRoom
from tests.chat.conftest import VAULT_PASSWORD
from tests.factories import PlayerFactory

pytestmark = pytest.mark.django_db


def say(room_id, sender, *texts):
    return [
        ChatMessage.objects.create(
            room_id=room_id, sender=sender, text=text, created_at=timezone.now()
        )
        for text in texts
    ]


@pytest.mark.smoke
def test_rooms_are_listed_without_any_password(player_api, rooms):
    response = player_api.get("/api/rooms/")

    assert response.status_code == 200
    listed = {room["id"]: room for room in response.json()["results"]}
    assert {"trade", "vault"} <= set(listed)
    assert listed["vault"]["isPrivate"] is True and listed["trade"]["isPrivate"] is False
    assert "password" not in response.content.decode()


def test_a_player_creates_a_private_room_and_is_its_member(player_api, player):
    response = player_api.post(
        "/api/rooms/", {"name": "Our Guild", "password": "hunter22"}, format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"].startswith("our-guild-") and body["type"] == "private"
    assert "password" not in body
    room = ChatRoom.objects.get(pk=body["id"])
    assert room.password.startswith("argon2")
    assert ChatMembership.objects.filter(room=room, player=player).exists()


def test_a_player_creates_a_limited_number_of_rooms(player_api, settings):
    settings.CHAT_ROOMS_PER_PLAYER = 1
    assert player_api.post("/api/rooms/", {"name": "One"}, format="json").status_code == 201

    response = player_api.post("/api/rooms/", {"name": "Two"}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "room_limit")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "x", "id": "Bad Id!"}, None),
        ({"name": "x", "id": "dm-mine"}, None),
        ({"name": "x" * 101}, "name"),
        ({"name": "x", "isStaff": True}, "isStaff"),
        ({"name": 5}, "name"),
    ],
)
def test_bad_room_input_is_a_400(player_api, body, field):
    response = player_api.post("/api/rooms/", body, format="json")

    assert response.status_code == 400
    if field:
        assert field in response.json()


def test_an_id_taken_is_a_conflict(player_api, rooms):
    response = player_api.post("/api/rooms/", {"name": "T", "id": "trade"}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "id_taken")


def test_history_pages_backwards_by_cursor(player_api, player, rooms):
    said = say("trade", player, *(f"m{n}" for n in range(5)))

    first = player_api.get("/api/rooms/trade/messages/?limit=2").json()
    second = player_api.get(first["next"]).json()
    third = player_api.get(second["next"]).json()

    assert [m["message"] for m in first["messages"]] == ["m3", "m4"]
    assert [m["message"] for m in second["messages"]] == ["m1", "m2"]
    assert [m["message"] for m in third["messages"]] == ["m0"]
    assert third["next"] is None
    assert first["messages"][0]["id"] == said[3].pk


@pytest.mark.parametrize("query", ["before=abc", "before=0", "limit=-1", "limit=x"])
def test_a_bad_cursor_is_a_400(player_api, rooms, query):
    assert player_api.get(f"/api/rooms/trade/messages/?{query}").status_code == 400


def test_a_private_rooms_messages_are_for_members_only(player_api, other_api, other_player, rooms):
    ChatMembership.objects.create(room_id="vault", player=other_player)
    say("vault", other_player, "the secret")

    refused = player_api.get("/api/rooms/vault/messages/")
    members = player_api.get("/api/rooms/vault/members/")
    allowed = other_api.get("/api/rooms/vault/messages/")

    assert (refused.status_code, refused.json()["code"]) == (403, "not_member")
    assert "the secret" not in refused.content.decode()
    assert members.status_code == 403
    assert [m["message"] for m in allowed.json()["messages"]] == ["the secret"]


def test_joining_a_private_room_takes_its_password(player_api, player, rooms):
    wrong = player_api.post("/api/rooms/vault/members/", {"password": "nope"}, format="json")
    right = player_api.post(
        "/api/rooms/vault/members/", {"password": VAULT_PASSWORD}, format="json"
    )

    assert (wrong.status_code, wrong.json()["code"]) == (403, "wrong_password")
    assert right.status_code == 200
    assert player_api.get("/api/rooms/vault/messages/").status_code == 200
    listed = player_api.get("/api/rooms/vault/members/").json()["results"]
    assert [m["username"] for m in listed] == [player.username]


def test_leaving_a_private_room_ends_reading_it(player_api, player, rooms):
    ChatMembership.objects.create(room_id="vault", player=player)

    assert player_api.delete("/api/rooms/vault/members/").status_code == 204
    assert player_api.get("/api/rooms/vault/messages/").status_code == 403


def test_a_conversation_of_others_is_not_found(player_api, rooms):
    alice, bob = PlayerFactory(), PlayerFactory()
    room_id = f"dm-{min(str(alice.pk), str(bob.pk))}-{max(str(alice.pk), str(bob.pk))}"
    ChatRoom.objects.create(id=room_id, name="Private conversation", kind="direct")

    assert player_api.get(f"/api/rooms/{room_id}/").status_code == 404
    assert player_api.get(f"/api/rooms/{room_id}/messages/").status_code == 404
    assert room_id not in {r["id"] for r in player_api.get("/api/rooms/").json()["results"]}


def test_an_unknown_room_is_a_404(player_api):
    assert player_api.get("/api/rooms/atlantis/").status_code == 404
    assert player_api.get("/api/rooms/atlantis/messages/").status_code == 404


def test_a_player_deletes_only_their_own_room(player_api, other_api, rooms):
    created = player_api.post("/api/rooms/", {"name": "Mine"}, format="json").json()

    assert other_api.delete(f"/api/rooms/{created['id']}/").status_code == 403
    assert player_api.delete("/api/rooms/trade/").status_code == 403
    assert player_api.delete(f"/api/rooms/{created['id']}/").status_code == 204
    assert not ChatRoom.objects.filter(pk=created["id"]).exists()


def test_staff_delete_a_standard_room(staff_api, rooms):
    assert staff_api.delete("/api/rooms/trade/").status_code == 204


def test_rooms_need_a_login(api):
    assert api.get("/api/rooms/").status_code == 401


def test_the_standard_rooms_are_there_after_migrating():
    assert set(ChatRoom.objects.values_list("id", flat=True)) >= {"global", "trade", "help"}
