import json

import pytest
from django.urls import reverse

from areas.models import Area
from flags.models import Flag, FlagType
from movement.models import PlayerPosition
from players.models import Inventory, Player, PlayerProfile, Session
from tests.factories import AreaFactory, FlagFactory, PlayerFactory

pytestmark = pytest.mark.django_db

VALID_SQUARE = "SRID=4326;MULTIPOLYGON(((1 1, 1.01 1, 1.01 1.01, 1 1.01, 1 1)))"


@pytest.fixture
def world(player):
    session = Session.objects.create(player=player, ip_address="198.51.100.7", user_agent="pytest")
    return {
        "area": AreaFactory(),
        "flag": FlagFactory(owner=player),
        "player": player,
        "session": session,
    }


def admin_pages(world):
    area, flag, player, session = world["area"], world["flag"], world["player"], world["session"]
    return [
        reverse("admin:areas_area_changelist"),
        reverse("admin:areas_area_add"),
        reverse("admin:areas_area_change", args=[area.pk]),
        reverse("admin:flags_flag_changelist"),
        reverse("admin:flags_flag_add"),
        reverse("admin:flags_flag_change", args=[flag.pk]),
        reverse("admin:players_player_changelist"),
        reverse("admin:players_player_add"),
        reverse("admin:players_player_change", args=[player.pk]),
        reverse("admin:players_session_changelist"),
        reverse("admin:players_session_change", args=[session.pk]),
    ]


@pytest.mark.smoke
def test_staff_sees_every_admin_page(staff_client, world):
    for url in admin_pages(world):
        response = staff_client.get(url)
        assert response.status_code == 200, url


def test_admin_pages_refuse_players_without_staff_status(player_client, world):
    for url in admin_pages(world):
        response = player_client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url


def test_admin_pages_refuse_anonymous_visitors(client, world):
    for url in admin_pages(world):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url


def test_map_pages_load_the_map_library_from_static_files(staff_client, world):
    page = staff_client.get(reverse("admin:areas_area_change", args=[world["area"].pk]))
    html = page.content.decode()

    assert "/static/vendor/ol/ol.js" in html
    assert "cdn." not in html and "jsdelivr" not in html


def test_player_page_shows_profile_position_inventory_and_sessions(staff_client, world):
    player = world["player"]
    html = staff_client.get(
        reverse("admin:players_player_change", args=[player.pk])
    ).content.decode()

    for section in ["Player profile", "Inventory", "Player position", "Login sessions"]:
        assert section in html
    assert str(world["session"].id) in html
    assert "198.51.100.7" in html


def area_form(**overrides):
    return {
        "id": "new-area",
        "name": "New area",
        "area_type": "city",
        "boundary": VALID_SQUARE,
        "properties": json.dumps({"description": "x", "allow_pvp": False}),
        "is_active": "on",
        **overrides,
    }


@pytest.mark.smoke
def test_admin_saves_a_valid_area(staff_client):
    response = staff_client.post(reverse("admin:areas_area_add"), area_form())

    assert response.status_code == 302
    area = Area.objects.get(id="new-area")
    assert area.boundary.srid == 4326
    assert area.boundary.extent == pytest.approx((1, 1, 1.01, 1.01))


@pytest.mark.smoke
@pytest.mark.parametrize(
    "boundary, message",
    [
        ("SRID=4326;MULTIPOLYGON(((0 0, 1 1, 1 0, 0 1, 0 0)))", "Self-intersection"),
        ("SRID=4326;MULTIPOLYGON(((0 0, 1 0, 1 1, 0 1)))", "Invalid geometry value"),
        ("SRID=4326;MULTIPOLYGON(((170 80, 190 80, 190 85, 170 85, 170 80)))", "lng must lie"),
        ("SRID=4326;MULTIPOLYGON(((10 80, 20 80, 20 95, 10 95, 10 80)))", "lat must lie"),
        (
            '{"type": "MultiPolygon", "coordinates": '
            "[[[[0, 0], [1e15, 0], [1e15, 1e15], [0, 1e15], [0, 0]]]]}",
            "must",
        ),
        ("SRID=4326;POINT(1 1)", "Invalid geometry type"),
        ("not a geometry at all", "Invalid geometry value"),
    ],
    ids=[
        "self-intersecting",
        "unclosed-ring",
        "lng-range",
        "lat-range",
        "huge-3857",
        "point",
        "garbage",
    ],
)
def test_admin_refuses_an_invalid_boundary_with_a_message(staff_client, boundary, message):
    response = staff_client.post(reverse("admin:areas_area_add"), area_form(boundary=boundary))

    assert response.status_code == 200
    errors = " ".join(response.context["adminform"].form.errors.get("boundary", []))
    assert message in errors
    assert not Area.objects.exists()


def test_admin_refuses_a_boundary_over_the_vertex_limit(staff_client, settings):
    settings.AREA_MAX_VERTICES = 4

    response = staff_client.post(reverse("admin:areas_area_add"), area_form())

    assert response.status_code == 200
    assert "the limit is 4" in " ".join(response.context["adminform"].form.errors["boundary"])


def test_admin_refuses_area_properties_of_the_wrong_type(staff_client):
    response = staff_client.post(
        reverse("admin:areas_area_add"), area_form(properties=json.dumps({"allow_pvp": "yes"}))
    )

    assert response.status_code == 200
    assert "allow_pvp" in " ".join(response.context["adminform"].form.errors["properties"])


def flag_form(**overrides):
    return {
        "name": "Portal",
        "flag_type": "system",
        "owner": "",
        "location": "SRID=4326;POINT(2.35 48.85)",
        "radius": "500",
        "visual_boundary": "600",
        "is_public": "on",
        "toll": "0",
        "health": "200",
        "last_visited_at_0": "2026-01-01",
        "last_visited_at_1": "00:00:00",
        **overrides,
    }


def test_admin_places_a_system_flag(staff_client):
    response = staff_client.post(reverse("admin:flags_flag_add"), flag_form())

    assert response.status_code == 302
    flag = Flag.objects.get()
    assert flag.flag_type == FlagType.SYSTEM
    assert (flag.location.x, flag.location.y) == pytest.approx((2.35, 48.85))


def test_admin_refuses_a_flag_outside_the_map(staff_client):
    response = staff_client.post(
        reverse("admin:flags_flag_add"), flag_form(location="SRID=4326;POINT(200 10)")
    )

    assert response.status_code == 200
    assert "lng must lie" in " ".join(response.context["adminform"].form.errors["location"])
    assert not Flag.objects.exists()


def test_admin_refuses_a_system_flag_with_an_owner(staff_client, player):
    response = staff_client.post(reverse("admin:flags_flag_add"), flag_form(owner=str(player.pk)))

    assert response.status_code == 200
    assert "System flags have no owner." in response.context["adminform"].form.errors["owner"]
    assert not Flag.objects.exists()


def test_player_added_in_the_admin_gets_their_game_state(staff_client):
    response = staff_client.post(
        reverse("admin:players_player_add"),
        {
            "username": "added_by_staff",
            "email": "added@example.com",
            "usable_password": "true",
            "password1": "a-long-enough-password-1",
            "password2": "a-long-enough-password-1",
        },
    )

    assert response.status_code == 302
    player = Player.objects.get(username="added_by_staff")
    assert PlayerProfile.objects.filter(player=player).exists()
    assert PlayerPosition.objects.filter(player=player).exists()
    assert Inventory.objects.filter(player=player).exists()


def test_revoke_action_ends_the_selected_sessions(staff_client, player):
    kept = Session.objects.create(player=PlayerFactory())
    revoked = Session.objects.create(player=player)

    response = staff_client.post(
        reverse("admin:players_session_changelist"),
        {"action": "revoke", "_selected_action": [str(revoked.pk)]},
    )

    assert response.status_code == 302
    revoked.refresh_from_db()
    kept.refresh_from_db()
    assert not revoked.is_valid
    assert kept.is_valid
