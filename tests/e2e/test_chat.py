"""
Chat rooms across real server processes (the production server, two
processes sharing PostgreSQL and Redis), spoken to as the game's client does.
"""

import time

import pytest
from channels.db import database_sync_to_async

from chat.models import ChatMessage
from chat.services import chat_mute, messages_delete
from players.models import Player as PlayerModel
from tests.e2e.clients import Player, call

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio]
shares_the_test_database = pytest.mark.django_db(transaction=True)

# Room chat at a test's pace, not a person's.
FAST_CHAT = {"CHAT_RATE": 100, "CHAT_BURST": 100}


async def join(player, room_id, password=None) -> dict:
    await player.send("join-room", {"roomId": room_id, "password": password})
    return await player.receive_type("room-history")


async def say(player, room_id, text) -> dict:
    await player.send("send-message", {"roomId": room_id, "message": text})
    while True:
        message = await player.receive()
        if message["type"] == "room-error":
            return message["data"]
        if message["type"] == "receive-message" and message["data"]["senderId"] == player.id:
            return message["data"]


async def heard(player, count) -> list[str]:
    return [(await player.receive_type("receive-message"))["message"] for _ in range(count)]


@shares_the_test_database
async def test_a_room_across_two_processes(start_server):
    server_a, server_b = start_server("a", **FAST_CHAT), start_server("b", **FAST_CHAT)
    alice, bob, eve = Player(server_a, "alice"), Player(server_b, "bob"), Player(server_b, "eve")
    status, room = call(
        server_a.url,
        "POST",
        "/api/rooms/",
        {"name": "Guild", "id": "guild", "password": "mellon"},
        token=alice.access,
    )
    assert (status, room["isPrivate"]) == (201, True) and "password" not in room
    for player, server in ((alice, server_a), (bob, server_b), (eve, server_b)):
        await player.connect(server)

    # A wrong password is refused, over the socket and over REST.
    await eve.send("join-room", {"roomId": "guild", "password": "friend"})
    assert (await eve.receive_type("room-error"))["code"] == "wrong_password"
    status, body = call(
        server_b.url, "POST", "/api/rooms/guild/members/", {"password": "x"}, token=eve.access
    )
    assert (status, body["code"]) == (403, "wrong_password")

    await join(alice, "guild")
    await join(bob, "guild", "mellon")
    assert (await alice.receive_type("user-joined"))["username"] == "bob"

    # Messages cross processes, each sender's in order.
    for n in range(10):
        await alice.send("send-message", {"roomId": "guild", "message": f"a{n}"})
    assert await heard(alice, 10) == [f"a{n}" for n in range(10)]  # her acknowledgements
    assert await heard(bob, 10) == [f"a{n}" for n in range(10)]
    assert (await say(bob, "guild", "b0"))["message"] == "b0"
    assert (await alice.receive_type("receive-message"))["message"] == "b0"

    # A non-member reads nothing of a private room, over REST or the socket.
    status, body = call(server_b.url, "GET", "/api/rooms/guild/messages/", token=eve.access)
    assert (status, body["code"]) == (403, "not_member") and "a0" not in str(body)
    assert (await say(eve, "guild", "hello?"))["code"] == "not_member"
    await eve.send("join-room", {"roomId": "guild"})
    assert (await eve.receive_type("room-error"))["code"] == "password_required"

    # Bob reconnects to the other process: the history brings what he missed.
    await bob.close()
    assert (await alice.receive_type("user-left"))["username"] == "bob"
    await say(alice, "guild", "while you were away")
    await bob.connect(server_a)
    history = await join(bob, "guild")
    assert [m["message"] for m in history["messages"]] == [
        *(f"a{n}" for n in range(10)),
        "b0",
        "while you were away",
    ]

    # A message staff delete leaves both screens.
    spam = await say(alice, "guild", "spam")
    await bob.receive_type("receive-message")
    await database_sync_to_async(messages_delete)(message_ids=[spam["id"]])
    for player in (alice, bob):
        assert await player.receive_type("message-deleted") == {"roomId": "guild", "id": spam["id"]}
    status, page = call(server_b.url, "GET", "/api/rooms/guild/messages/", token=bob.access)
    assert status == 200 and "spam" not in [m["message"] for m in page["messages"]]

    # A muted player is refused within a second, on the process that holds his socket.
    bob_row = await database_sync_to_async(PlayerModel.objects.get)(pk=bob.id)
    await database_sync_to_async(chat_mute)(player=bob_row, minutes=5)
    muted_at = time.monotonic()
    while True:
        answer = await say(bob, "guild", "can I still talk?")
        if answer.get("code") == "muted":
            break
        assert time.monotonic() - muted_at < 1.0, "still heard a second after the mute"
    assert time.monotonic() - muted_at < 1.0


@shares_the_test_database
async def test_stored_messages_carry_their_order_and_sender(start_server):
    server = start_server("a", **FAST_CHAT)
    alice = Player(server, "carol")
    await alice.connect(server)
    await join(alice, "global")

    acknowledged = [await say(alice, "global", f"line {n}") for n in range(5)]

    stored = await database_sync_to_async(
        lambda: list(ChatMessage.objects.filter(room_id="global").values_list("id", "text"))
    )()
    assert stored == [(ack["id"], ack["message"]) for ack in acknowledged]
