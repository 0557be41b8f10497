import uuid

import pytest

from mmo.geo import point
from movement.models import PlayerPosition
from players.models import Player, PlayerProfile
from tests.conftest import bearer_client, login_tokens
from tests.factories import DEFAULT_PASSWORD, PlayerFactory

pytestmark = pytest.mark.django_db

ME = "/api/players/me/"


@pytest.mark.smoke
def test_me_shows_the_players_own_state(player_api, player):
    body = player_api.get(ME).json()

    assert body["id"] == str(player.pk)
    assert body["email"] == player.email
    assert (body["level"], body["health"], body["maxHealth"]) == (1, 100, 100)


def test_me_updates_profile_fields(player_api, player):
    response = player_api.patch(
        ME,
        {"displayName": "Wanderer", "bio": "Hello", "avatarUrl": "https://example.com/me.png"},
        format="json",
    )

    assert response.status_code == 200
    profile = PlayerProfile.objects.get(pk=player.pk)
    assert (profile.display_name, profile.bio) == ("Wanderer", "Hello")
    assert Player.objects.get(pk=player.pk).avatar_url == "https://example.com/me.png"


@pytest.mark.parametrize(
    "field, value",
    [
        ("level", 99),
        ("experience", 10**6),
        ("isStaff", True),
        ("is_staff", True),
        ("inventory", {"gold": 10**6}),
        ("username", "renamed"),
        ("id", str(uuid.uuid4())),
        ("owner", str(uuid.uuid4())),
    ],
)
def test_me_refuses_fields_a_player_may_not_set(player_api, player, field, value):
    response = player_api.patch(ME, {field: value}, format="json")

    assert response.status_code == 400
    assert field in response.json()
    player.refresh_from_db()
    assert not player.is_staff and player.profile.level == 1


@pytest.mark.parametrize(
    "body", [{"displayName": "x" * 51}, {"bio": 5}, {"avatarUrl": "javascript:alert(1)"}]
)
def test_me_refuses_bad_values(player_api, body):
    assert player_api.patch(ME, body, format="json").status_code == 400


def test_me_position_and_inventory(player_api, settings):
    position = player_api.get("/api/players/me/position/").json()
    inventory = player_api.get("/api/players/me/inventory/").json()

    assert (position["lng"], position["lat"]) == settings.GAME_START_POINT
    assert inventory == settings.GAME_STARTER_KIT


def test_deleting_the_account_needs_the_password(player_api, player):
    assert player_api.delete(ME, {"password": "wrong"}, format="json").status_code == 400
    assert Player.objects.filter(pk=player.pk).exists()

    assert player_api.delete(ME, {"password": DEFAULT_PASSWORD}, format="json").status_code == 204

    assert not Player.objects.filter(pk=player.pk).exists()
    assert player_api.get(ME).status_code == 401


def test_public_view_of_another_player_hides_private_data(player_api, other_player):
    response = player_api.get(f"/api/players/{other_player.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["username"] == other_player.username
    assert "email" not in body and "inventory" not in body


def test_unknown_or_deactivated_player_is_not_found(player_api, other_player):
    assert player_api.get(f"/api/players/{uuid.uuid4()}/").status_code == 404
    Player.objects.filter(pk=other_player.pk).update(is_active=False)
    assert player_api.get(f"/api/players/{other_player.pk}").status_code == 404


def test_a_player_cannot_change_another_players_profile(player_api, other_player):
    response = player_api.patch(
        f"/api/players/{other_player.pk}/", {"displayName": "Hacked"}, format="json"
    )

    assert response.status_code == 405
    assert PlayerProfile.objects.get(pk=other_player.pk).display_name == other_player.username


def place(player, lng, lat, area=None):
    PlayerPosition.objects.filter(pk=player.pk).update(
        location=point(lng, lat), current_area_id=area
    )


def usernames(response):
    assert response.status_code == 200, response.json()
    return sorted(item["username"] for item in response.json()["results"])


def test_players_by_box_and_near(player_api, player):
    east, far = PlayerFactory(username="east"), PlayerFactory(username="far")
    place(player, 0, 0)
    place(east, 0.002, 0)  # about 220 m east
    place(far, 1, 1)

    assert usernames(player_api.get("/api/players/?bbox=-0.01,-0.01,0.01,0.01")) == sorted(
        [player.username, "east"]
    )
    assert usernames(player_api.get("/api/players/?near=0,0&radius=250")) == sorted(
        [player.username, "east"]
    )
    assert usernames(player_api.get("/api/players/?near=0,0&radius=200")) == [player.username]
    item = player_api.get("/api/players/?near=1,1&radius=10").json()["results"][0]
    assert item["position"] == {"lat": 1.0, "lng": 1.0}


def test_players_by_area(player_api, player):
    from django.core.management import call_command

    call_command("seed_world")
    place(player, 0.02, 0, "city-area")

    assert usernames(player_api.get("/api/players/?area=city-area")) == [player.username]
    assert player_api.get("/api/players/?area=atlantis").status_code == 404
    assert player_api.get("/api/players/?area=city%00area").status_code == 404


@pytest.mark.parametrize(
    "query, field",
    [
        ("", "detail"),
        ("?bbox=0,0,1,1&near=0,0&radius=5", "detail"),
        ("?bbox=a,b,c,d", "bbox"),
        ("?bbox=0,0,1", "bbox"),
        ("?bbox=nan,0,1,1", "bbox"),
        ("?bbox=0,0,inf,1", "bbox"),
        ("?bbox=1,1,0,0", "bbox"),
        ("?bbox=-200,0,1,1", "bbox"),
        ("?near=0,95&radius=10", "near"),
        ("?near=0,0", "radius"),
        ("?radius=10", "near"),
        ("?near=0,0&radius=-1", "radius"),
        ("?near=0,0&radius=1e9", "radius"),
    ],
)
def test_bad_player_list_queries_name_the_parameter(player_api, query, field):
    response = player_api.get(f"/api/players/{query}")

    assert response.status_code == 400
    assert field in response.json()


def test_page_size_is_capped(player_api, player, settings):
    settings.API_MAX_PAGE_SIZE = 2
    for _ in range(3):
        place(PlayerFactory(), 0, 0)

    body = player_api.get("/api/players/?near=0,0&radius=10&pageSize=1000").json()

    assert len(body["results"]) == 2 and body["count"] == 4


def test_tokens_of_one_player_never_reach_anothers_sessions(player, other_player):
    theirs = login_tokens(other_player)
    mine = bearer_client(login_tokens(player).tokens.access)

    listed = mine.get("/api/auth/sessions/").json()["results"]

    assert str(theirs.session.pk) not in {item["id"] for item in listed}
