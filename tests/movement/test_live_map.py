import pytest
from django.core.management import call_command
from django.test import AsyncClient

from flags.sample_world import START_FLAG_ID
from mmo.geo import point
from movement.presence import PresenceEntry
from tests.factories import FlagFactory, PlayerFactory, StaffFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_index_links_to_the_live_map(staff_client):
    assert "/admin/live-map/" in staff_client.get("/admin/").content.decode()


@pytest.mark.smoke
def test_live_map_page_for_staff_loads_the_map_locally(staff_client):
    response = staff_client.get("/admin/live-map/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "/static/vendor/ol/ol.js" in html and "/static/movement/live_map.js" in html
    assert 'data-players-url="/admin/live-map/players/"' in html


def test_live_map_refuses_players(player_client):
    assert player_client.get("/admin/live-map/").status_code == 302
    assert player_client.get("/admin/live-map/players/").status_code == 403


@pytest.mark.asyncio
async def test_live_map_lists_online_players(world):
    from channels.db import database_sync_to_async

    staff = await database_sync_to_async(StaffFactory)()
    player = await database_sync_to_async(PlayerFactory)()
    await world.presence.refresh(
        [PresenceEntry(str(player.pk), player.username, "Walker", 2.35, 48.85, 90.0, None)]
    )
    client = AsyncClient()
    await database_sync_to_async(client.force_login)(staff)

    response = await client.get("/admin/live-map/players/")

    assert response.status_code == 200
    (listed,) = response.json()["players"]
    assert listed["playerId"] == str(player.pk)
    assert listed["position"] == {"lat": 48.85, "lng": 2.35}


@pytest.mark.smoke
def test_live_map_draws_flags_with_their_territories(staff_client):
    call_command("seed_world")
    flag = FlagFactory(location=point(0.001, 0.001))

    response = staff_client.get("/admin/live-map/territories/", {"bbox": "-0.05,-0.05,0.05,0.05"})

    assert response.status_code == 200
    features = {feature["id"]: feature for feature in response.json()["features"]}
    assert features[str(flag.pk)]["geometry"]["type"] == "MultiPolygon"
    assert features[str(START_FLAG_ID)]["geometry"]["type"] == "Point"
    assert features[str(START_FLAG_ID)]["properties"]["isStartHub"] is True
    page = staff_client.get("/admin/live-map/").content.decode()
    assert 'data-territories-url="/admin/live-map/territories/"' in page


def test_live_map_territories_need_a_box(staff_client):
    assert staff_client.get("/admin/live-map/territories/").status_code == 400
    assert staff_client.get("/admin/live-map/territories/", {"bbox": "1,1,0,0"}).status_code == 400


def test_live_map_territories_are_for_staff(player_client):
    assert player_client.get("/admin/live-map/territories/", {"bbox": "0,0,1,1"}).status_code == 302
