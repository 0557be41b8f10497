"""The game WebSocket, driven through the real consumer and channel layer."""

import asyncio
import gc
import itertools
import json
import threading
import uuid
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.core.cache import BaseCache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mmo import realtime
from mmo.geo import point
from movement.consumers import load_login
from movement.models import PlayerPosition
from tests.conftest import bearer_client
from tests.factories import AreaFactory, FlagFactory, square
from tests.geodesy import north_of_equator
from tests.realtime import Client, new_player, open_socket

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

# A step east along the equator, in degrees per metre.
DEG_PER_M = 1 / 111_319.49


@database_sync_to_async
def place(player, lng, lat):
    PlayerPosition.objects.filter(pk=player.pk).update(location=point(lng, lat))


@database_sync_to_async
def stored_position(player):
    return PlayerPosition.objects.get(pk=player.pk)


# Authentication -------------------------------------------------------------------


@pytest.mark.smoke
async def test_authenticated_frame_carries_player_position_and_area(connect, world):
    await database_sync_to_async(call_command)("seed_world")
    await world.rebuild_area_index()

    client = await connect(username="walker")

    data = client.authenticated
    assert data["playerId"] == str(client.player.pk)
    assert data["playerData"]["username"] == "walker"
    assert data["position"] == {"lat": 0.0, "lng": 0.0}
    assert data["area"] == "starting-area"


async def test_live_sockets_hold_no_cache_backend_of_their_own(connect, world):
    """
    Django's `cache` is one per asyncio task: a socket that read it on its own
    task would keep a backend and its clients for as long as it is connected
    (mmo/cache.py shares one per process).
    """
    players = [await new_player() for _ in range(5)]
    await connect(*players[0])  # the process's paths warmed up

    def backends() -> int:
        return sum(issubclass(type(o), BaseCache) for o in gc.get_objects())

    before = backends()
    for player, login in players[1:]:
        await connect(player, login)

    assert backends() == before


async def test_bearer_header_at_the_handshake_authenticates(world):
    player, login = await new_player()

    communicator = await open_socket(
        headers=[(b"authorization", f"Bearer {login.tokens.access}".encode())]
    )
    message = await communicator.receive_json_from()

    assert message["type"] == "authenticated"
    assert message["data"]["playerId"] == str(player.pk)
    await communicator.disconnect()


async def test_a_login_does_not_wait_for_the_thread_of_synchronous_code(connect, world):
    """
    Sockets read what their login needs on login threads: while the one thread
    Channels keeps for synchronous code is held (a slow flag placement, a chat
    write), players still log in, as when hundreds come back at once after a
    process died.
    """
    player, login = await new_player()
    await world.start()  # as on a process that has served players before
    release = threading.Event()
    holding = asyncio.ensure_future(database_sync_to_async(release.wait)())
    await asyncio.sleep(0.05)  # the thread is taken
    try:
        client = await connect(player=player, login=login)
        assert not holding.done()
    finally:
        release.set()
        await holding
    assert client.authenticated["playerId"] == str(player.pk)


async def test_a_login_reads_position_anchors_and_mute_in_one_query_each(world):
    """Token, session and player state come from the cache once warm; three queries remain."""
    player, login = await new_player()
    flag = await database_sync_to_async(FlagFactory)(owner=player, location=north_of_equator(100))

    def read_twice():
        load_login(login.tokens.access)  # fills the caches
        with CaptureQueriesContext(connection) as queries:
            second = load_login(login.tokens.access)
        return second, queries.captured_queries

    read, queries = await database_sync_to_async(read_twice)()

    assert len(queries) == 3, [query["sql"] for query in queries]
    assert read.snapshot.anchors == [pytest.approx((flag.location.x, flag.location.y))]
    assert read.player == player


async def test_nothing_comes_before_authenticated_while_neighbours_move(connect, world):
    """A neighbour's move during the login's last round trip waits for "authenticated"."""
    mover = await connect()
    player, login = await new_player()
    refresh_started, moved = asyncio.Event(), asyncio.Event()
    refresh = world.presence.refresh

    async def slow_refresh(*args, **kwargs):
        refresh_started.set()
        await moved.wait()  # the neighbour moves while this login waits on Redis
        return await refresh(*args, **kwargs)

    world.presence.refresh = slow_refresh
    newcomer = Client(await open_socket(), player, login)
    await newcomer.send("authenticate", {"token": login.tokens.access})
    await asyncio.wait_for(refresh_started.wait(), 2)
    world.clock.advance(5)
    assert (await mover.move(3 * DEG_PER_M, 0))["type"] == "move-ack"
    moved.set()

    assert (await newcomer.receive())["type"] == "authenticated"
    assert (await newcomer.receive_type("player-moved"))["playerId"] == str(mover.player.pk)
    world.presence.refresh = refresh
    await newcomer.close()


@pytest.mark.parametrize(
    "data",
    [{"token": "not-a-jwt"}, {"token": ""}, {}, {"token": 5}, {"token": "\ud800"}],
    ids=["garbage", "empty", "missing", "number", "lone-surrogate"],
)
async def test_bad_token_gets_auth_failed(world, data):
    client = Client(await open_socket())

    await client.send("authenticate", data)
    message = await client.receive()

    assert message["type"] == "error"
    assert message["data"]["code"] in ("auth_failed", "invalid_data")
    if message["data"]["code"] == "auth_failed":
        assert (await client.communicator.receive_output(1))["type"] == "websocket.close"


async def test_token_of_an_ended_session_is_refused(world):
    player, login = await new_player()
    await database_sync_to_async(bearer_client(login.tokens.access).post)("/api/auth/logout/")
    client = Client(await open_socket())

    await client.send("authenticate", {"token": login.tokens.access})

    assert (await client.receive())["data"]["code"] == "auth_failed"


async def test_claimed_player_id_must_match_the_token(world):
    player, login = await new_player()
    client = Client(await open_socket())

    await client.send(
        "authenticate",
        {"token": login.tokens.access, "playerId": "00000000-0000-0000-0000-000000000000"},
    )

    assert (await client.receive())["data"]["code"] == "auth_failed"


async def test_connection_without_authentication_closes_after_the_timeout(world, settings):
    settings.WEBSOCKET_AUTH_TIMEOUT = 0.2
    client = Client(await open_socket())

    message = await client.receive(timeout=2)

    assert message["data"]["code"] == "auth_timeout"
    assert (await client.communicator.receive_output(1))["type"] == "websocket.close"


async def test_messages_before_authentication_are_refused_but_the_socket_stays(world):
    client = Client(await open_socket())

    await client.send("heartbeat")
    assert (await client.receive())["data"]["code"] == "not_authenticated"

    player, login = await new_player()
    await client.send("authenticate", {"token": login.tokens.access})
    assert (await client.receive())["type"] == "authenticated"
    await client.close()


async def test_a_second_connection_forces_the_first_one_out(connect, world):
    first = await connect()

    second = await connect(player=first.player)

    message = await first.receive()
    assert message["type"] == "force-disconnect"
    assert (await first.communicator.receive_output(1))["type"] == "websocket.close"
    await second.send("heartbeat")
    reply = await second.receive()
    assert reply["type"] == "heartbeat-ack", reply


async def test_logout_over_rest_closes_the_socket(connect, world):
    client = await connect()

    response = await database_sync_to_async(bearer_client(client.login.tokens.access).post)(
        "/api/auth/logout/"
    )

    assert response.status_code == 204
    assert (await client.receive(timeout=1))["type"] == "force-disconnect"
    assert (await client.communicator.receive_output(1))["type"] == "websocket.close"


async def test_session_revoked_from_another_session_closes_the_socket(connect, world):
    client = await connect()
    from tests.conftest import login_tokens

    other = await database_sync_to_async(login_tokens)(client.player)

    await database_sync_to_async(bearer_client(other.tokens.access).delete)(
        f"/api/auth/sessions/{client.login.session.pk}/"
    )

    assert (await client.receive(timeout=1))["type"] == "force-disconnect"


async def test_deactivating_the_account_closes_the_socket(connect, world):
    client = await connect()

    def deactivate():
        client.player.is_active = False
        client.player.save()

    await database_sync_to_async(deactivate)()

    assert (await client.receive(timeout=1))["data"]["reason"] == "This account is deactivated."
    assert (await client.communicator.receive_output(1))["code"] == 4003


# Moves ------------------------------------------------------------------------------


async def test_move_is_acknowledged_with_seq_area_and_timestamp(connect, world):
    client = await connect()
    world.clock.advance(5)

    ack = await client.move(20 * DEG_PER_M, 0, seq=7, direction=450)

    assert ack["type"] == "move-ack"
    assert ack["data"]["seq"] == 7
    assert ack["data"]["position"] == {"lat": 0, "lng": 20 * DEG_PER_M}
    assert isinstance(ack["data"]["timestamp"], int)
    assert world.players[str(client.player.pk)].direction == 90.0


@pytest.mark.parametrize("metres, accepted", [(29.9, True), (30.1, False)])
async def test_speed_limit_on_server_time(connect, world, settings, metres, accepted):
    # A fresh connection holds the jitter allowance (5 m); 5 s at 5 m/s add 25 m.
    client = await connect()
    world.clock.advance(5)

    reply = await client.move(metres * DEG_PER_M, 0)

    assert reply["type"] == ("move-ack" if accepted else "move-rejected")
    if not accepted:
        assert reply["data"]["reason"] == "too_fast"
        assert reply["data"]["position"] == {"lat": 0.0, "lng": 0.0}


async def test_a_reconnecting_player_may_cover_the_time_since_their_last_stored_move(
    connect, world
):
    import time as real_time

    player, login = await new_player()
    world.wall_clock = real_time.time
    await database_sync_to_async(
        lambda: PlayerPosition.objects.filter(pk=player.pk).update(
            updated_at=timezone.now() - timedelta(seconds=4)
        )
    )()
    client = await connect(player=player, login=login)

    # 5 m of jitter + 4 s × 5 m/s, without the fake clock moving.
    assert (await client.move(24.5 * DEG_PER_M, 0))["type"] == "move-ack"


async def test_rapid_small_steps_cannot_outrun_the_limit(connect, world):
    client = await connect()
    accepted = 0
    for step in range(1, 40):
        world.clock.advance(0.1)  # 40 steps of 2 m in 4 s: 20 m/s
        reply = await client.move(step * 2 * DEG_PER_M, 0)
        if reply["type"] == "move-ack":
            accepted += 1
        else:
            break

    live = world.players[str(client.player.pk)]
    walked = live.lng / DEG_PER_M
    assert walked <= 5 * world.clock.now - 5 * 1000 + 5 + 0.01  # speed × time + jitter
    assert accepted < 39


@pytest.mark.parametrize("metres, accepted", [(599, True), (601, False)])
async def test_range_from_the_start_point(connect, world, metres, accepted):
    player, login = await new_player()
    await place(player, 0, (metres - 10) / 110_574.2727)
    client = await connect(player=player, login=login)
    world.clock.advance(10)

    target = north_of_equator(metres)
    reply = await client.move(target.x, target.y)

    assert reply["type"] == ("move-ack" if accepted else "move-rejected")
    if not accepted:
        assert reply["data"]["reason"] == "out_of_range"


async def test_range_counts_from_own_flags_once_placed(connect, world):
    client = await connect()
    flag_spot = north_of_equator(1000)
    await database_sync_to_async(FlagFactory)(owner=client.player, location=flag_spot)
    await asyncio.sleep(0.2)  # the flags.changed event reloads the anchors
    await place(client.player, 0, 0)

    assert world.players[str(client.player.pk)].anchors == [(flag_spot.x, flag_spot.y)]


async def test_entering_and_leaving_an_area(connect, world):
    await database_sync_to_async(call_command)("seed_world")
    await world.rebuild_area_index()
    player, login = await new_player()
    # A flag at the city's edge lets the player roam there, far from the start.
    await database_sync_to_async(FlagFactory)(owner=player, location=point(0.01, 0))
    await place(player, 0.0099, 0)  # just inside the starting area, east edge
    client = await connect(player=player, login=login)
    world.clock.advance(10)

    await client.send("player-move", {"position": {"lat": 0, "lng": 0.0101}})

    frames = [await client.receive() for _ in range(3)]
    assert [f["type"] for f in frames] == ["move-ack", "area-left", "area-entered"]
    assert frames[0]["data"]["area"] == "city-area"
    assert frames[1]["data"] == {"areaId": "starting-area"}
    assert frames[2]["data"] == {"areaId": "city-area"}


async def test_a_clients_current_area_is_ignored(connect, world):
    client = await connect()
    world.clock.advance(2)

    ack = await client.move(0.00001, 0, currentArea="city-area")

    assert ack["data"]["area"] is None


async def test_staff_area_change_reaches_the_area_index(connect, world, settings):
    client = await connect()
    staff, staff_login = await new_player(is_staff=True)
    square = {
        "type": "Polygon",
        "coordinates": [
            [[-0.001, -0.001], [0.001, -0.001], [0.001, 0.001], [-0.001, 0.001], [-0.001, -0.001]]
        ],
    }

    response = await database_sync_to_async(bearer_client(staff_login.tokens.access).post)(
        "/api/areas/",
        {"id": "plaza", "name": "Plaza", "areaType": "city", "boundary": square},
        format="json",
    )
    assert response.status_code == 201
    for _ in range(50):
        if world.area_index.area_at(0.0001, 0) == "plaza":
            break
        await asyncio.sleep(0.05)

    world.clock.advance(5)
    ack = await client.move(0.0001, 0)
    assert ack["data"]["area"] == "plaza"


async def test_an_event_the_process_cannot_handle_leaves_it_listening(connect, world, caplog):
    """One bad event is logged; the next is heard on the same channel (none is left to fill up)."""
    await connect()  # the world is listening
    layer = get_channel_layer()
    await layer.group_send(realtime.WORLD_GROUP, {"type": "territories.changed"})  # no flag_ids
    for _ in range(50):
        if "handling a 'territories.changed' event failed" in caplog.text:
            break
        await asyncio.sleep(0.05)
    await database_sync_to_async(AreaFactory)(id="plaza", boundary=square(-0.001, -0.001, 0.002))

    for _ in range(50):
        if world.area_index.area_at(0.0001, 0) == "plaza":
            break
        await asyncio.sleep(0.05)

    assert "handling a 'territories.changed' event failed" in caplog.text
    assert world.area_index.area_at(0.0001, 0) == "plaza"
    assert "process listener failed" not in caplog.text


# Interest management ----------------------------------------------------------------


async def test_nearby_players_see_moves_and_far_ones_do_not(connect, world):
    mover = await connect()
    near_player, near_login = await new_player()
    await place(near_player, 0.001, 0)  # about 110 m away
    near = await connect(player=near_player, login=near_login)
    far_player, far_login = await new_player()
    await place(far_player, 0.01, 0)  # about 1.1 km away, several cells off
    far = await connect(player=far_player, login=far_login)
    world.clock.advance(5)

    await mover.move(0.0001, 0, direction=90)

    moved = await near.receive_type("player-moved")
    assert moved["playerId"] == str(mover.player.pk)
    assert moved["position"] == {"lat": 0, "lng": 0.0001}
    assert moved["direction"] == 90
    assert await far.nothing_more()
    assert await mover.nothing_more()  # no echo of one's own move


async def test_a_neighbour_on_the_same_process_hears_each_move_once(connect, world):
    """Told directly, not also through the channel layer, whose echo is dropped."""
    mover = await connect()
    neighbour = await connect()
    world.clock.advance(10)

    for step in (1, 2, 3):
        assert (await mover.move(step * 2 * DEG_PER_M, 0))["type"] == "move-ack"

    heard = [(await neighbour.receive_type("player-moved"))["position"]["lng"] for _ in range(3)]
    assert heard == [pytest.approx(step * 2 * DEG_PER_M) for step in (1, 2, 3)]
    await asyncio.sleep(0.3)  # time for an echo through Redis to arrive, were it delivered
    assert await neighbour.nothing_more()


@pytest.mark.parametrize(
    "event",
    [{"type": "player.superseded"}, {"type": "no.such.event"}, {"type": "player.moved"}],
    ids=["missing-keys", "unknown-type", "moved-without-frame"],
)
async def test_a_malformed_event_from_another_process_leaves_the_connection_open(
    connect, world, event
):
    client = await connect()

    group = realtime.player_group(client.player.pk)
    await get_channel_layer().group_send(
        realtime.layer_group(group), realtime.addressed(group, event)
    )
    await asyncio.sleep(0.3)  # the event has come through Redis and been handled
    await client.send("heartbeat")

    assert (await client.receive_type("heartbeat-ack"))["timestamp"] > 0


def players_in(world, group: str) -> set:
    return {connection.player.pk for connection in world.groups.members.get(group, ())}


async def test_players_whose_events_share_a_layer_group_hear_only_their_own(connect, world):
    first_id = uuid.uuid4()
    carrier = realtime.layer_group(realtime.player_group(first_id))
    second_id = next(
        candidate
        for candidate in iter(uuid.uuid4, None)
        if realtime.layer_group(realtime.player_group(candidate)) == carrier
    )
    first = await connect(id=first_id)
    second = await connect(id=second_id)
    layer = get_channel_layer()._get_layer()  # channels_redis's, of this event loop
    carrier_channel = layer._get_group_channel_name(carrier)

    # A login subscribes to no group of its own: players and sessions ride shared ones.
    assert not [name for name in layer.groups if "player." in name or "session." in name]
    group = realtime.player_group(first_id)
    world.outbox.send(group, realtime.addressed(group, realtime.player_ended(reason="Gone.")))
    assert (await first.receive_type("force-disconnect"))["reason"] == "Gone."
    await second.send("heartbeat")
    assert (await second.receive())["type"] == "heartbeat-ack"
    await first.close()
    assert carrier_channel in layer.groups  # the second player's events still ride it
    await second.close()

    assert carrier_channel not in layer.groups


async def test_connections_hear_their_groups_on_the_process_channel_alone(connect, world):
    first = await connect()
    second = await connect()
    layer = get_channel_layer()._get_layer()  # channels_redis's, of this event loop
    process_channel = world.groups.memberships.channel
    global_chat = layer._get_group_channel_name(realtime.GLOBAL_CHAT_GROUP)

    # Neither connection has a channel of its own in the layer: the process's
    # channel is the one member of each group, once, whoever joined it here.
    assert set(layer.channels) == {process_channel}
    assert layer.groups[global_chat] == {process_channel}
    assert players_in(world, realtime.GLOBAL_CHAT_GROUP) == {first.player.pk, second.player.pk}
    group = realtime.player_group(first.player.pk)
    for event in (
        realtime.leaderboard_rank(category="x", rank=1, score=1),
        realtime.player_ended(reason="Gone."),
    ):
        world.outbox.send(group, realtime.addressed(group, event))
    assert (await first.receive_type("force-disconnect"))["reason"] == "Gone."
    await second.send("heartbeat")
    assert (await second.receive())["type"] == "heartbeat-ack"

    await first.close()
    assert players_in(world, realtime.GLOBAL_CHAT_GROUP) == {second.player.pk}
    assert group not in world.groups.members
    await second.close()

    assert realtime.GLOBAL_CHAT_GROUP not in world.groups.members
    assert global_chat not in layer.groups


async def test_a_player_who_leaves_follows_no_cell(connect, world):
    first = await connect()
    second = await connect()
    assert world.cells.listeners

    await first.close()
    await second.close()

    assert world.cells.listeners == {}


async def test_nearby_players_hear_of_a_disconnect(connect, world):
    leaver = await connect()
    stayer = await connect()

    await leaver.close()

    assert (await stayer.receive_type("player-disconnected")) == {"playerId": str(leaver.player.pk)}


async def test_crossing_into_another_cell_changes_who_hears(connect, world, settings):
    settings.MOVEMENT_CELL_SIZE_M = 100
    mover = await connect()
    listener_player, listener_login = await new_player()
    await place(listener_player, 0.00185, 0)  # ~205 m east, two 100 m cells away
    listener = await connect(player=listener_player, login=listener_login)

    for lng in (0.0004, 0.0008):  # still in the mover's first cell
        world.clock.advance(10)
        assert (await mover.move(lng, 0))["type"] == "move-ack"
    assert await listener.nothing_more()

    world.clock.advance(10)
    await mover.move(0.00095, 0)  # into the cell next to the listener's
    moved = await listener.receive_type("player-moved")
    assert moved["position"]["lng"] == 0.00095


# Listings ---------------------------------------------------------------------------


async def test_get_players_by_box_and_area(connect, world):
    await database_sync_to_async(call_command)("seed_world")
    await world.rebuild_area_index()
    asker = await connect()
    other = await connect(username="neighbour")
    box = {"minLat": -0.01, "maxLat": 0.01, "minLng": -0.01, "maxLng": 0.01}

    for key in ("bounds", "boundingBox"):
        await asker.send("get-players", {key: box})
        listed = await asker.receive_type("players-list")
        assert {p["username"] for p in listed["players"]} >= {"neighbour"}
        assert isinstance(listed["timestamp"], int)

    await asker.send("get-players", {"areaId": "starting-area"})
    listed = await asker.receive_type("players-list")
    assert str(other.player.pk) in {p["playerId"] for p in listed["players"]}

    await asker.send("get-players", {"areaId": "city-area"})
    assert (await asker.receive_type("players-list"))["players"] == []


async def test_get_flags_in_a_box(connect, world):
    await database_sync_to_async(call_command)("seed_world")
    client = await connect()

    await client.send(
        "get-flags", {"boundingBox": {"minLat": -1, "maxLat": 1, "minLng": -1, "maxLng": 1}}
    )
    flags = (await client.receive_type("flags-list"))["flags"]

    assert [flag["name"] for flag in flags] == ["Start"]
    assert set(flags[0]) == {
        "id", "ownerId", "name", "position", "radius", "visualBoundary", "isPublic",
        "toll", "isHardened", "isAbandoned", "health", "type", "isStartHub", "territory",
    }  # fmt: skip


# Chat and heartbeat -------------------------------------------------------------------


async def test_global_chat_reaches_everyone(connect, world):
    sender = await connect()
    listener = await connect()

    await sender.send("chat-message", {"message": "  hello world  ", "scope": "global"})

    for client in (sender, listener):
        message = await client.receive_type("chat-message")
        assert message["message"] == "hello world"
        assert message["senderId"] == str(sender.player.pk)
        assert message["scope"] == "global"


async def test_area_chat_stays_in_the_area(connect, world):
    await database_sync_to_async(call_command)("seed_world")
    await world.rebuild_area_index()
    sender = await connect()
    inside = await connect()
    outsider_player, outsider_login = await new_player()
    await place(outsider_player, 0.02, 0)  # in the city
    outsider = await connect(player=outsider_player, login=outsider_login)

    await sender.send("chat-message", {"message": "locals only", "scope": "area"})

    assert (await inside.receive_type("chat-message"))["message"] == "locals only"
    assert await outsider.nothing_more()


async def test_private_chat_reaches_only_its_target(connect, world):
    sender = await connect()
    target = await connect()
    bystander = await connect()

    await sender.send(
        "chat-message",
        {"message": "psst", "scope": "private", "targetId": str(target.player.pk)},
    )

    sent = await sender.receive_type("chat-sent")
    assert sent["targetId"] == str(target.player.pk)
    received = await target.receive_type("chat-message")
    assert (received["message"], received["scope"]) == ("psst", "private")
    assert await bystander.nothing_more()


async def test_private_chat_to_an_offline_player_is_refused(connect, world):
    sender = await connect()
    offline, _ = await new_player()

    await sender.send(
        "chat-message", {"message": "hi", "scope": "private", "targetId": str(offline.pk)}
    )

    assert (await sender.receive_type("error"))["code"] == "recipient_offline"


async def test_chat_is_rate_limited(connect, world, settings):
    settings.CHAT_BURST = 2
    settings.CHAT_RATE = 0.01
    client = await connect()

    for n in range(3):
        await client.send("chat-message", {"message": f"spam {n}"})

    codes = []
    for _ in range(3):
        message = await client.receive()
        codes.append(message["type"] if message["type"] != "error" else message["data"]["code"])
    assert codes.count("chat-message") == 2 and "rate_limited" in codes


async def test_heartbeat(connect, world):
    client = await connect()

    await client.send("heartbeat")

    message = await client.receive()
    assert message["type"] == "heartbeat-ack" and isinstance(message["data"]["timestamp"], int)


# Bad frames -------------------------------------------------------------------------


@pytest.mark.smoke
@pytest.mark.parametrize(
    "text, code",
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ('{"data": {}}', "invalid_frame"),
        ('{"type": "player-move", "data": []}', "invalid_frame"),
        ('{"type": "teleport-anywhere", "data": {}}', "unknown_type"),
        ('{"type": "player-move", "data": {"position": {"lat": "0", "lng": 0}}}', "invalid_data"),
        ('{"type": "player-move", "data": {"position": {"lat": NaN, "lng": 0}}}', "invalid_json"),
        (
            '{"type": "player-move", "data": {"position": {"lat": 0, "lng": Infinity}}}',
            "invalid_json",
        ),
        ('{"type": "player-move", "data": {"position": {"lat": 0, "lng": 1e400}}}', "invalid_data"),
        # An integer literal past a float's range: no float() may overflow on it.
        (
            '{"type": "player-move", "data": {"position": {"lat": 0, "lng": 1%s}}}' % ("0" * 400),
            "invalid_data",
        ),
        ('{"type": "get-players", "data": {"areaId": "\\ud800"}}', "invalid_data"),
        ('{"type": "chat-message", "data": {"message": "hi \\udfff"}}', "invalid_data"),
        (
            '{"type": "place-flag", "data": {"position": {"lat": 0, "lng": 0}, "name": "a\\u0000"}}',
            "invalid_data",
        ),
        (
            '{"type": "player-move", "data": {"position": {"lat": 91, "lng": 0}}}',
            "invalid_position",
        ),
        (
            '{"type": "player-move", "data": {"position": {"lat": 0, "lng": -181}}}',
            "invalid_position",
        ),
        (
            '{"type": "player-move", "data": {"position": {"lat": 0, "lng": 0}, "seq": "x"}}',
            "invalid_data",
        ),
        ('{"type": "player-move", "data": {"position": [0, 0]}}', "invalid_data"),
        ('{"type": "chat-message", "data": {"message": 42}}', "invalid_data"),
        ('{"type": "chat-message", "data": {"message": "x", "scope": "galaxy"}}', "invalid_data"),
        ('{"type": "get-players", "data": {}}', "invalid_data"),
        (
            '{"type": "get-players", "data": {"bounds": {"minLat": 5, "maxLat": 1, "minLng": 0, "maxLng": 1}}}',
            "invalid_data",
        ),
        ('{"type": "authenticate", "data": {"token": "x"}}', "already_authenticated"),
    ],
)
async def test_bad_frames_get_an_error_and_the_socket_stays_open(connect, world, text, code):
    client = await connect()

    await client.send_text(text)
    message = await client.receive()

    assert message["type"] == "error"
    assert message["data"]["code"] == code
    assert message["data"]["message"]
    await client.send("heartbeat")
    assert (await client.receive())["type"] == "heartbeat-ack"


async def test_oversized_and_binary_frames_are_refused(connect, world):
    client = await connect()

    await client.send_text(json.dumps({"type": "heartbeat", "data": {"pad": "x" * 17_000}}))
    assert (await client.receive())["data"]["code"] == "frame_too_large"
    await client.communicator.send_to(bytes_data=b"\x00\x01")
    assert (await client.receive())["data"]["code"] == "invalid_frame"
    await client.send("heartbeat")
    assert (await client.receive())["type"] == "heartbeat-ack"


async def test_message_flood_is_rate_limited_then_closed(connect, world, settings):
    settings.WEBSOCKET_BURST = 5
    settings.WEBSOCKET_RATE = 1
    settings.WEBSOCKET_ABUSE_LIMIT = 10
    client = await connect()

    for _ in range(30):
        await client.send("heartbeat")
    replies = []
    while True:
        output = await client.communicator.receive_output(1)
        if output["type"] == "websocket.close":
            break
        replies.append(json.loads(output["text"]))

    codes = [r["data"]["code"] for r in replies if r["type"] == "error"]
    # The burst of 5, less the authenticate message (the fake clock stands still).
    assert sum(r["type"] == "heartbeat-ack" for r in replies) == 4
    assert codes and set(codes) == {"rate_limited"}
    assert output["code"] == 4008


async def test_flag_actions_share_one_budget_with_rest(connect, world, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "flag-actions": "2/minute",
        },
    }
    client = await connect()
    no_such_flag = "6f1c1d4e-0000-4000-8000-000000000000"
    api = bearer_client(client.login.tokens.access)
    over_rest = await database_sync_to_async(api.post)(f"/api/flags/{no_such_flag}/harden/")

    await client.send("harden-flag", {"flagId": no_such_flag})
    within_budget = await client.receive()
    await client.send("harden-flag", {"flagId": no_such_flag})
    over_budget = await client.receive()

    assert over_rest.status_code == 404
    assert within_budget["data"]["code"] == "not_found"
    assert over_budget["type"] == "flag-harden-failed"
    assert over_budget["data"]["code"] == "rate_limited"
    assert "try again in" in over_budget["data"]["reason"]


async def test_a_move_with_a_bad_field_is_refused_whole(connect, world):
    client = await connect()
    world.clock.advance(1)

    await client.send(
        "player-move", {"position": {"lat": 0, "lng": 3 * DEG_PER_M}, "sentAt": "yesterday"}
    )
    reply = await client.receive()

    assert reply["type"] == "error" and reply["data"]["code"] == "invalid_data"
    assert "sentAt" in reply["data"]["message"]
    assert await client.nothing_more()
    live = world.players[str(client.player.pk)]
    assert (live.lng, live.lat) == (0.0, 0.0)


# Persistence --------------------------------------------------------------------------


async def test_a_tiny_negative_direction_is_stored_as_zero(connect, world):
    client = await connect()
    world.clock.advance(1)

    ack = await client.move(3 * DEG_PER_M, 0, direction=-1e-20)
    await world.flush()

    assert ack["type"] == "move-ack"
    assert (await stored_position(client.player)).direction == 0.0


async def test_accepted_positions_are_flushed_in_a_batch(connect, world):
    walkers = [await connect() for _ in range(3)]
    world.clock.advance(5)
    for n, walker in enumerate(walkers):
        await walker.move((n + 1) * 5 * DEG_PER_M, 0, direction=45)

    await world.flush()

    for n, walker in enumerate(walkers):
        stored = await stored_position(walker.player)
        assert stored.location.x == pytest.approx((n + 1) * 5 * DEG_PER_M)
        assert stored.direction == 45
        assert stored.version > 0


async def test_disconnect_writes_the_position(connect, world):
    client = await connect()
    world.clock.advance(5)
    await client.move(10 * DEG_PER_M, 0)

    await client.close()

    assert (await stored_position(client.player)).location.x == pytest.approx(10 * DEG_PER_M)


async def test_a_failed_flush_keeps_positions_for_the_next(connect, world, monkeypatch):
    import movement.world

    client = await connect()
    world.clock.advance(5)
    await client.move(10 * DEG_PER_M, 0)
    real_write = movement.world._write_batch

    def database_restarting(rows, walked):
        raise ConnectionError("the database is restarting")

    monkeypatch.setattr(movement.world, "_write_batch", database_restarting)
    with pytest.raises(ConnectionError):
        await world.flush()
    monkeypatch.setattr(movement.world, "_write_batch", real_write)

    assert await world.flush() == 1
    assert (await stored_position(client.player)).location.x == pytest.approx(10 * DEG_PER_M)


async def test_flushes_keep_their_period_however_long_each_takes(world, settings, monkeypatch):
    """
    A slow flush (a busy database) does not push the next one back: each
    position waits at most one interval to be taken, as a killed process
    loses no position acknowledged longer than an interval before.
    """
    settings.MOVEMENT_FLUSH_INTERVAL = 0.2
    loop = asyncio.get_running_loop()
    started: list[float] = []

    async def slow_flush():
        started.append(loop.time())
        await asyncio.sleep(0.1)
        return 0

    monkeypatch.setattr(world, "flush", slow_flush)
    flusher = loop.create_task(world._flush_forever())
    await asyncio.sleep(1.25)
    flusher.cancel()

    gaps = [later - earlier for earlier, later in itertools.pairwise(started)]
    assert len(started) >= 5, started
    # Counted from the end of each flush, they came 0.3 s apart and more.
    assert sum(gaps) / len(gaps) < 0.25, gaps


async def test_a_replayed_older_batch_does_not_move_a_player_back(connect, world):
    from movement.repositories import PositionRepository

    client = await connect()
    world.clock.advance(5)
    await client.move(10 * DEG_PER_M, 0)
    old_row = world.players[str(client.player.pk)].row()
    world.clock.advance(5)
    await client.move(20 * DEG_PER_M, 0)
    await world.flush()

    changed = await database_sync_to_async(PositionRepository.write_batch)([old_row])

    assert changed == 0
    assert (await stored_position(client.player)).location.x == pytest.approx(20 * DEG_PER_M)


async def test_moves_make_no_database_query(connect, world, settings, monkeypatch):
    """Counted in every thread, not only this one: no move reaches the database."""
    from django.db.backends import utils

    settings.MOVEMENT_FLUSH_INTERVAL = 3600  # keep the flusher out of the count
    client = await connect()
    listener = await connect()
    statements = []
    real_execute = utils.CursorWrapper._execute_with_wrappers

    def counting(self, sql, *args, **kwargs):
        statements.append(sql)
        return real_execute(self, sql, *args, **kwargs)

    monkeypatch.setattr(utils.CursorWrapper, "_execute_with_wrappers", counting)
    for step in range(1, 51):
        world.clock.advance(1)
        reply = await client.move(step * 4 * DEG_PER_M, 0, seq=step)
        assert reply["type"] == "move-ack"
    for _ in range(50):
        await listener.receive_type("player-moved")

    assert statements == []
