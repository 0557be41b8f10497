import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.admin.models import LogEntry
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client as HttpClient
from django.utils import timezone

from flags.sample_world import START_FLAG_ID
from mmo.asgi import application
from mmo.geo import point
from movement.presence import PresenceEntry
from movement.staff_socket import CLOSE_NOT_STAFF
from tests.factories import AreaFactory, FlagFactory, PlayerFactory, StaffFactory

pytestmark = pytest.mark.django_db(transaction=True)

SQUARE = MultiPolygon(Polygon.from_bbox((10.0, 10.0, 10.1, 10.1)), srid=4326)


def test_admin_index_links_to_the_world_map(staff_client):
    assert "/admin/world-map/" in staff_client.get("/admin/").content.decode()


@pytest.mark.smoke
def test_world_map_page_loads_the_map_and_the_world_locally(staff_client):
    response = staff_client.get("/admin/world-map/")

    html = response.content.decode()
    assert response.status_code == 200
    for script in ("vendor/ol/ol.js", "mmo/base_map.js", "movement/world_map.js"):
        assert f"/static/{script}" in html
    assert 'data-world-url="/static/vendor/world-atlas/countries-50m.json"' in html
    assert 'data-socket-path="/ws/staff/map/"' in html


@pytest.mark.parametrize(
    "url",
    [
        "/admin/world-map/",
        "/admin/world-map/areas/?bbox=0,0,1,1",
        "/admin/world-map/flags/?bbox=0,0,1,1",
        "/admin/world-map/territories/?bbox=0,0,1,1",
        "/admin/world-map/search/?q=a",
    ],
)
def test_world_map_and_its_data_refuse_players(player_client, url):
    response = player_client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("bbox", [None, "1,1,0,0", "0,0,1", "a,b,c,d", "0,0,200,1"])
def test_world_map_data_needs_a_valid_box(staff_client, bbox):
    for kind in ("areas", "flags", "territories"):
        query = {} if bbox is None else {"bbox": bbox}
        response = staff_client.get(f"/admin/world-map/{kind}/", query)
        assert response.status_code == 400, kind
        assert "bbox" in response.json()["detail"]


@pytest.mark.smoke
def test_world_map_areas_in_the_box_inactive_ones_too(staff_client):
    AreaFactory(id="inside", name="Inside", area_type="city", boundary=SQUARE)
    AreaFactory(id="asleep", name="Asleep", boundary=SQUARE, is_active=False)
    AreaFactory(id="elsewhere", boundary=MultiPolygon(Polygon.from_bbox((50, 50, 51, 51))))

    response = staff_client.get("/admin/world-map/areas/", {"bbox": "9,9,11,11"})

    features = {feature["id"]: feature for feature in response.json()["features"]}
    assert set(features) == {"inside", "asleep"}
    assert features["inside"]["properties"]["type"] == "city"
    assert features["inside"]["properties"]["adminUrl"] == "/admin/areas/area/inside/change/"
    assert features["asleep"]["properties"]["isActive"] is False


@pytest.mark.smoke
def test_world_map_flags_in_the_box_as_points(staff_client):
    owner = PlayerFactory(username="keeper")
    flag = FlagFactory(owner=owner, name="Keep", location=point(10.05, 10.05))
    FlagFactory(location=point(40.0, 40.0))

    body = staff_client.get("/admin/world-map/flags/", {"bbox": "9,9,11,11"}).json()

    (listed,) = body["flags"]
    assert listed["id"] == str(flag.pk)
    assert (listed["name"], listed["owner"], listed["type"]) == ("Keep", "keeper", "normal")
    assert (listed["lng"], listed["lat"]) == pytest.approx((10.05, 10.05))
    assert body["truncated"] is False
    assert body["adminUrl"].replace("{id}", str(flag.pk)) == f"/admin/flags/flag/{flag.pk}/change/"


def test_world_map_territories_are_the_flags_land(staff_client):
    call_command("seed_world")
    flag = FlagFactory(location=point(0.001, 0.001))

    response = staff_client.get("/admin/world-map/territories/", {"bbox": "-0.05,-0.05,0.05,0.05"})

    features = {feature["id"]: feature for feature in response.json()["features"]}
    assert features[str(flag.pk)]["geometry"]["type"] == "MultiPolygon"
    assert features[str(START_FLAG_ID)]["properties"]["isStartHub"] is True


def test_world_map_search_finds_players_and_flags_by_name(staff_client):
    call_command("seed_world")
    player = PlayerFactory(username="portalwalker")

    results = staff_client.get("/admin/world-map/search/", {"q": "portal"}).json()["results"]

    kinds = {(found["kind"], found["name"]) for found in results}
    assert ("player", "portalwalker") in kinds
    assert ("flag", "Europe Portal") in kinds
    (walker,) = [found for found in results if found["kind"] == "player"]
    assert walker["adminUrl"] == f"/admin/players/player/{player.pk}/change/"
    assert staff_client.get("/admin/world-map/search/", {"q": " "}).status_code == 400


# Acting on a player ---------------------------------------------------------------


@pytest.mark.asyncio
async def test_disconnect_closes_the_players_socket_and_is_logged(connect):
    client = await connect()
    staff = await database_sync_to_async(StaffFactory)()
    http = HttpClient()
    await database_sync_to_async(http.force_login)(staff)

    response = await database_sync_to_async(http.post)(
        f"/admin/world-map/players/{client.player.pk}/disconnect/"
    )

    assert response.status_code == 200
    frame = await client.receive_type("force-disconnect")
    assert frame["reason"] == "Disconnected by staff."
    closed = await client.communicator.receive_output(timeout=2)
    assert closed == {"type": "websocket.close", "code": 4003}
    entry = await database_sync_to_async(LogEntry.objects.get)(object_id=str(client.player.pk))
    assert entry.user_id == staff.pk and "Disconnected" in entry.get_change_message()


@pytest.mark.asyncio
async def test_deactivate_closes_the_socket_and_ends_the_account(connect):
    client = await connect()
    staff = await database_sync_to_async(StaffFactory)()
    http = HttpClient()
    await database_sync_to_async(http.force_login)(staff)

    response = await database_sync_to_async(http.post)(
        f"/admin/world-map/players/{client.player.pk}/deactivate/"
    )

    assert response.status_code == 200
    await client.receive_type("force-disconnect")
    await database_sync_to_async(client.player.refresh_from_db)()
    assert client.player.is_active is False
    assert await database_sync_to_async(
        LogEntry.objects.filter(object_id=str(client.player.pk), user=staff).exists
    )()


def test_player_actions_are_for_staff_and_posts_only(player_client, player):
    staff_client = HttpClient()
    staff_client.force_login(StaffFactory())
    for action in ("disconnect", "deactivate"):
        url = f"/admin/world-map/players/{player.pk}/{action}/"
        assert player_client.post(url).status_code == 302
        assert staff_client.get(url).status_code == 405
    player.refresh_from_db()
    assert player.is_active is True
    assert not LogEntry.objects.exists()


def test_player_actions_on_an_unknown_player_are_404(staff_client):
    url = "/admin/world-map/players/00000000-0000-0000-0000-000000000000/disconnect/"
    assert staff_client.post(url).status_code == 404


# The staff socket -------------------------------------------------------------------


async def logged_in(user) -> HttpClient:
    http = HttpClient()
    await database_sync_to_async(http.force_login)(user)
    return http


async def staff_socket(user, http=None):
    http = http or await logged_in(user)
    cookie = f"sessionid={http.cookies['sessionid'].value}".encode()
    communicator = WebsocketCommunicator(
        application, "/ws/staff/map/", headers=[(b"cookie", cookie)]
    )
    connected, code = await communicator.connect()
    return communicator, connected, code


@pytest.mark.asyncio
async def test_staff_socket_refuses_players_and_strangers(world):
    player = await database_sync_to_async(PlayerFactory)()
    _, connected, code = await staff_socket(player)
    assert (connected, code) == (False, CLOSE_NOT_STAFF)

    stranger = WebsocketCommunicator(application, "/ws/staff/map/")
    connected, code = await stranger.connect()
    assert (connected, code) == (False, CLOSE_NOT_STAFF)


@pytest.mark.asyncio
async def test_staff_socket_pushes_players_in_the_view_then_their_moves(world, settings):
    settings.STAFF_MAP_PUSH_SECONDS = 0.05
    staff = await database_sync_to_async(StaffFactory)()
    seen = PresenceEntry("p1", "walker", "Walker", 2.35, 48.85, 0.0, None)
    await world.presence.refresh([seen, PresenceEntry("p2", "far", "", 100.0, 10.0, 0.0, None)])
    communicator, connected, _ = await staff_socket(staff)
    assert connected

    await communicator.send_to(text_data=json.dumps({"type": "view", "bbox": [2, 48, 3, 49]}))
    first = await communicator.receive_json_from(timeout=2)
    await world.presence.refresh([PresenceEntry("p1", "walker", "Walker", 2.4, 48.9, 0.0, None)])
    moved = await communicator.receive_json_from(timeout=2)
    await world.presence.remove("p1")
    gone = await communicator.receive_json_from(timeout=2)
    await communicator.disconnect()

    assert first["data"]["reset"] is True
    assert first["data"]["players"] == [["p1", "Walker", 2.35, 48.85, None]]
    assert moved["data"]["players"] == [["p1", "Walker", 2.4, 48.9, None]]
    assert (gone["data"]["gone"], gone["data"]["online"]) == (["p1"], 0)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "text",
    ['{"type": "view", "bbox": [3, 3, 1, 1]}', '{"type": "view"}', "[]", "not json",
     '{"type": "look", "bbox": [0, 0, 1, 1]}', '{"type": "view", "bbox": ["a", 0, 1, 1]}'],
)  # fmt: skip
async def test_staff_socket_names_what_is_wrong_with_a_view(world, text):
    staff = await database_sync_to_async(StaffFactory)()
    communicator, _, _ = await staff_socket(staff)

    await communicator.send_to(text_data=text)
    answer = await communicator.receive_json_from(timeout=2)
    await asyncio.sleep(0)
    await communicator.disconnect()

    assert answer["type"] == "error" and answer["data"]["message"]


# Staff sockets close once the admin access they were opened with ends ----------------


async def assert_closed_for(communicator, reason):
    """The socket says why in an `error` frame, then closes with 4003 and the same reason."""
    frame = await communicator.receive_json_from(timeout=2)
    closed = await communicator.receive_output(timeout=2)
    await communicator.disconnect()
    assert frame == {"type": "error", "data": {"code": "access_ended", "message": reason}}
    assert closed == {"type": "websocket.close", "code": CLOSE_NOT_STAFF, "reason": reason}


async def assert_still_open(communicator):
    await communicator.send_to(text_data="[]")  # an answer proves it still listens
    answer = await communicator.receive_json_from(timeout=2)
    await communicator.disconnect()
    assert answer["type"] == "error" and answer["data"].get("code") is None


@pytest.mark.asyncio
async def test_staff_socket_closes_when_its_session_logs_out_of_the_admin(world, settings):
    settings.STAFF_MAP_ACCESS_CHECK_SECONDS = 60  # the event closes it, not the check
    staff = await database_sync_to_async(StaffFactory)()
    http = await logged_in(staff)
    communicator, connected, _ = await staff_socket(staff, http)
    elsewhere, _, _ = await staff_socket(staff)  # the same account in another browser
    assert connected

    response = await database_sync_to_async(http.post)("/admin/logout/")

    assert response.status_code == 200
    await assert_closed_for(communicator, "You logged out of the admin.")
    await assert_still_open(elsewhere)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("field", "reason", "update_fields"),
    [
        ("is_active", "This account is deactivated.", ["is_active"]),
        ("is_staff", "This account is no longer staff.", ["is_staff"]),
        ("is_staff", "This account is no longer staff.", None),  # the admin's change form
    ],
)
async def test_staff_socket_closes_when_the_account_loses_the_admin(
    world, settings, field, reason, update_fields
):
    settings.STAFF_MAP_ACCESS_CHECK_SECONDS = 60  # the event closes it, not the check
    staff = await database_sync_to_async(StaffFactory)()
    communicator, connected, _ = await staff_socket(staff)
    other_staff = await database_sync_to_async(StaffFactory)()
    other, _, _ = await staff_socket(other_staff)
    assert connected

    setattr(staff, field, False)
    await database_sync_to_async(staff.save)(update_fields=update_fields)

    await assert_closed_for(communicator, reason)
    await assert_still_open(other)


@pytest.mark.asyncio
async def test_staff_socket_closes_when_the_account_is_deleted(world, settings):
    settings.STAFF_MAP_ACCESS_CHECK_SECONDS = 60
    staff = await database_sync_to_async(StaffFactory)()
    communicator, _, _ = await staff_socket(staff)

    await database_sync_to_async(staff.delete)()

    await assert_closed_for(communicator, "This account was deleted.")


@pytest.mark.asyncio
@pytest.mark.parametrize("end", ["deleted", "expired"])
async def test_staff_socket_closes_when_its_session_ends_without_an_event(world, settings, end):
    settings.STAFF_MAP_ACCESS_CHECK_SECONDS = 0.05
    staff = await database_sync_to_async(StaffFactory)()
    http = await logged_in(staff)
    communicator, connected, _ = await staff_socket(staff, http)
    sessions = Session.objects.filter(session_key=http.cookies["sessionid"].value)
    assert connected

    if end == "deleted":  # `clearsessions`, the shell, another admin tool
        await database_sync_to_async(sessions.delete)()
    else:
        await database_sync_to_async(sessions.update)(expire_date=timezone.now())

    await assert_closed_for(communicator, "Your admin session ended; log in again.")


@pytest.mark.asyncio
async def test_staff_socket_check_closes_what_an_event_missed(world, settings):
    """A revocation whose event was lost (Redis away) still closes the socket: `update()` sends none."""
    settings.STAFF_MAP_ACCESS_CHECK_SECONDS = 0.05
    staff = await database_sync_to_async(StaffFactory)()
    communicator, _, _ = await staff_socket(staff)

    await database_sync_to_async(
        type(staff).objects.filter(pk=staff.pk).update
    )(is_staff=False)  # fmt: skip

    await assert_closed_for(communicator, "This account is no longer staff.")


@pytest.mark.asyncio
async def test_staff_socket_check_keeps_a_valid_session_open(world, settings):
    settings.STAFF_MAP_ACCESS_CHECK_SECONDS = 0.05
    staff = await database_sync_to_async(StaffFactory)()
    communicator, _, _ = await staff_socket(staff)

    await asyncio.sleep(0.3)  # several checks

    await assert_still_open(communicator)
