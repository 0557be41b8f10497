"""Chat rooms on the game's socket, driven through the real consumer."""

import asyncio
import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chat.models import ChatMembership, ChatMessage
from chat.services import chat_mute, messages_delete, room_id_of_pair
from tests.chat.conftest import VAULT_PASSWORD
from tests.factories import StaffFactory

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def joined(client, room_id, password=None) -> dict:
    await client.send("join-room", {"roomId": room_id, "password": password})
    return await client.receive_type("room-history")


async def room_error(client) -> dict:
    return await client.receive_type("room-error")


@database_sync_to_async
def stored_texts(room_id):
    return list(ChatMessage.objects.filter(room_id=room_id).values_list("text", flat=True))


@pytest.mark.smoke
async def test_a_message_reaches_every_member_online_and_is_stored(connect, world, rooms):
    alice, bob = await connect(username="alice"), await connect(username="bob")
    await joined(alice, "trade")
    await joined(bob, "trade")
    assert (await alice.receive_type("user-joined"))["username"] == "bob"

    await alice.send("send-message", {"roomId": "trade", "message": "  wood for stone?  "})
    acknowledged = await alice.receive_type("receive-message")
    heard = await bob.receive_type("receive-message")

    assert heard == acknowledged
    assert heard["message"] == "wood for stone?"
    assert (heard["roomId"], heard["senderId"], heard["username"]) == (
        "trade",
        str(alice.player.pk),
        "alice",
    )
    assert await stored_texts("trade") == ["wood for stone?"]
    assert await alice.nothing_more()  # the sender's frame is not repeated


@pytest.mark.smoke
async def test_joining_sends_the_latest_history_oldest_first(connect, world, rooms, settings):
    settings.CHAT_HISTORY_LENGTH = 3
    settings.CHAT_BURST = 10
    alice = await connect()
    await joined(alice, "trade")
    for n in range(5):
        await alice.send("send-message", {"roomId": "trade", "message": f"m{n}"})
        await alice.receive_type("receive-message")

    bob = await connect()
    history = await joined(bob, "trade")

    assert [m["message"] for m in history["messages"]] == ["m2", "m3", "m4"]
    assert history["messages"][0]["username"] == alice.player.username


async def test_a_private_room_refuses_a_wrong_password(connect, world, rooms):
    client = await connect()

    await client.send("join-room", {"roomId": "vault", "password": "guess"})
    refused = await room_error(client)
    await client.send("join-room", {"roomId": "vault"})
    no_password = await room_error(client)

    assert (refused["roomId"], refused["code"]) == ("vault", "wrong_password")
    assert no_password["code"] == "password_required"
    assert not await database_sync_to_async(ChatMembership.objects.filter(room_id="vault").exists)()


async def test_a_member_of_a_private_room_comes_back_without_the_password(connect, world, rooms):
    client = await connect()
    await joined(client, "vault", VAULT_PASSWORD)
    await client.close()

    again = await connect(player=client.player)
    history = await joined(again, "vault")

    assert history["roomId"] == "vault"


async def test_a_non_member_cannot_send_to_a_room(connect, world, rooms):
    client = await connect()

    await client.send("send-message", {"roomId": "vault", "message": "let me in"})

    assert (await room_error(client))["code"] == "not_member"
    assert await stored_texts("vault") == []


async def test_a_conversation_of_others_does_not_exist_for_a_third(connect, world, rooms):
    alice, bob, eve = await connect(), await connect(), await connect()
    await alice.send(
        "chat-message", {"message": "psst", "scope": "private", "targetId": str(bob.player.pk)}
    )
    await alice.receive_type("chat-sent")
    room_id = room_id_of_pair(alice.player.pk, bob.player.pk)

    await eve.send("join-room", {"roomId": room_id})
    history = await joined(bob, room_id)

    assert (await room_error(eve))["code"] == "not_found"
    assert [m["message"] for m in history["messages"]] == ["psst"]


@pytest.mark.parametrize(
    "message, code",
    [("x" * 501, "too_long"), (" \t ", "empty")],
)
async def test_a_bad_room_message_is_a_room_error(connect, world, rooms, message, code):
    client = await connect()
    await joined(client, "trade")

    await client.send("send-message", {"roomId": "trade", "message": message})

    assert (await room_error(client))["code"] == code
    assert await client.nothing_more()


@pytest.mark.parametrize(
    "raw",
    [
        '{"type": "send-message", "data": {"roomId": "trade", "message": "a\\u0000b"}}',
        '{"type": "send-message", "data": {"roomId": "trade", "message": "hi \\udfff"}}',
        '{"type": "join-room", "data": {"roomId": "trade\\u0000"}}',
        '{"type": "join-room", "data": {"roomId": 7}}',
    ],
)
async def test_nul_and_lone_surrogates_are_invalid_data(connect, world, rooms, raw):
    client = await connect()
    await joined(client, "trade")

    await client.send_text(raw)

    assert (await client.receive_type("error"))["code"] == "invalid_data"
    assert await stored_texts("trade") == []


async def test_a_huge_message_is_refused_as_a_frame_too_large(connect, world, rooms):
    client = await connect()
    await joined(client, "trade")

    await client.send("send-message", {"roomId": "trade", "message": "x" * 100_000})

    assert (await client.receive_type("error"))["code"] == "frame_too_large"
    assert await client.nothing_more()
    assert await stored_texts("trade") == []


async def test_an_unknown_room_is_not_found(connect, world):
    client = await connect()

    await client.send("join-room", {"roomId": "atlantis"})

    assert await room_error(client) == {
        "roomId": "atlantis",
        "error": "No room with this id.",
        "code": "not_found",
    }


async def test_thousands_of_joins_get_errors_and_nothing_else(connect, world, rooms):
    client = await connect()

    for n in range(10_000):
        await client.send("join-room", {"roomId": f"room-{n}"})
    answers, closed = [], None
    while closed is None:
        try:
            output = await client.communicator.receive_output(timeout=2.0)
        except asyncio.TimeoutError:
            break
        if output["type"] == "websocket.close":
            closed = output["code"]
        else:
            answers.append(json.loads(output["text"]))

    kinds = {(answer["type"], answer["data"].get("code")) for answer in answers}
    assert kinds == {("room-error", "not_found"), ("error", "rate_limited")}
    assert closed == 4008  # sustained abuse: the socket's usual limit
    assert not await database_sync_to_async(ChatMembership.objects.exists)()


async def test_a_socket_joins_a_limited_number_of_rooms(connect, world, rooms, settings):
    settings.CHAT_ROOMS_PER_CONNECTION = 1
    client = await connect()
    await joined(client, "trade")

    await client.send("join-room", {"roomId": "vault", "password": VAULT_PASSWORD})

    assert (await room_error(client))["code"] == "too_many_rooms"


async def test_leaving_tells_the_others(connect, world, rooms):
    alice, bob = await connect(), await connect(username="bobby")
    await joined(alice, "trade")
    await joined(bob, "trade")

    await bob.send("leave-room", {"roomId": "trade"})

    assert await bob.receive_type("room-left") == {"roomId": "trade"}
    assert await alice.receive_type("user-left") == {
        "roomId": "trade",
        "playerId": str(bob.player.pk),
        "username": "bobby",
    }


async def test_disconnecting_leaves_the_rooms(connect, world, rooms):
    alice, bob = await connect(), await connect()
    await joined(alice, "trade")
    await joined(bob, "trade")

    await bob.close()

    assert (await alice.receive_type("user-left"))["playerId"] == str(bob.player.pk)


async def test_a_muted_player_is_refused_at_once(connect, world, rooms):
    client = await connect()
    await joined(client, "trade")

    await database_sync_to_async(chat_mute)(player=client.player, minutes=10)
    await asyncio.sleep(0.1)
    await client.send("send-message", {"roomId": "trade", "message": "hello?"})
    await client.send("chat-message", {"message": "hello?"})

    assert (await room_error(client))["code"] == "muted"
    assert (await client.receive_type("error"))["code"] == "muted"
    assert await stored_texts("trade") == []


async def test_a_mute_lifted_lets_the_player_speak_again(connect, world, rooms):
    client = await connect()
    mute = await database_sync_to_async(chat_mute)(player=client.player, minutes=10)
    await joined(client, "trade")

    await database_sync_to_async(mute.delete)()
    await asyncio.sleep(0.1)
    await client.send("send-message", {"roomId": "trade", "message": "back"})

    assert (await client.receive_type("receive-message"))["message"] == "back"


async def test_a_deleted_message_leaves_the_members_screens(connect, world, rooms):
    alice, bob = await connect(), await connect()
    await joined(alice, "trade")
    await joined(bob, "trade")
    await alice.send("send-message", {"roomId": "trade", "message": "spam"})
    said = await bob.receive_type("receive-message")

    await database_sync_to_async(messages_delete)(message_ids=[said["id"]])

    assert await bob.receive_type("message-deleted") == {"roomId": "trade", "id": said["id"]}
    assert await alice.receive_type("message-deleted") == {"roomId": "trade", "id": said["id"]}


async def test_legacy_global_chat_is_stored_and_heard_in_the_global_room(connect, world):
    alice, bob = await connect(), await connect()
    await joined(bob, "global")

    await alice.send("chat-message", {"message": "hello all"})

    legacy = await bob.receive_type("chat-message")
    in_room = await bob.receive_type("receive-message")
    assert in_room["id"] == int(legacy["id"])
    assert await stored_texts("global") == ["hello all"]


async def test_area_chat_is_the_local_room(connect, world):
    await database_sync_to_async(call_command)("seed_world")
    await world.rebuild_area_index()
    alice, bob = await connect(), await connect()
    history = await joined(bob, "local")
    assert history["roomId"] == "area-starting-area"

    await alice.send("chat-message", {"message": "locals", "scope": "area"})

    assert (await bob.receive_type("receive-message"))["message"] == "locals"
    assert await stored_texts("area-starting-area") == ["locals"]


async def test_a_deleted_room_is_left(connect, world, rooms):
    client = await connect()
    await joined(client, "trade")

    await database_sync_to_async(rooms[0].delete)()

    assert (await room_error(client))["code"] == "room_deleted"


def admin_client():
    client = Client()
    client.force_login(StaffFactory())
    return client


async def test_a_deletion_in_the_admin_reaches_the_members_online(connect, world, rooms):
    alice, bob = await connect(), await connect()
    await joined(alice, "trade")
    await joined(bob, "trade")
    await alice.send("send-message", {"roomId": "trade", "message": "spam"})
    said = await bob.receive_type("receive-message")

    def delete_in_the_admin():
        return (
            admin_client()
            .post(
                reverse("admin:chat_chatmessage_changelist"),
                {"action": "delete_selected", "_selected_action": [said["id"]], "post": "yes"},
            )
            .status_code
        )

    assert await database_sync_to_async(delete_in_the_admin)() == 302
    assert await bob.receive_type("message-deleted") == {"roomId": "trade", "id": said["id"]}
    assert await stored_texts("trade") == []


async def test_a_mute_saved_in_the_admin_silences_at_once(connect, world, rooms):
    client = await connect()
    await joined(client, "trade")
    until = timezone.now() + timedelta(hours=1)

    def mute_in_the_admin():
        return (
            admin_client()
            .post(
                reverse("admin:chat_chatmute_add"),
                {
                    "player": str(client.player.pk),
                    "until_0": until.strftime("%Y-%m-%d"),
                    "until_1": until.strftime("%H:%M:%S"),
                    "reason": "spam",
                },
            )
            .status_code
        )

    assert await database_sync_to_async(mute_in_the_admin)() == 302
    await asyncio.sleep(0.1)
    await client.send("send-message", {"roomId": "trade", "message": "still here?"})

    assert (await room_error(client))["code"] == "muted"
