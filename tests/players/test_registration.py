import pytest

from movement.models import PlayerPosition
from players import services
from players.models import Inventory, Player, PlayerProfile
from tests.conftest import bearer_client

pytestmark = pytest.mark.django_db

REGISTER = "/api/auth/register/"


def register(api, **overrides):
    body = {
        "username": "newcomer",
        "email": "newcomer@example.com",
        "password": "a-long-enough-passphrase",
        **overrides,
    }
    return api.post(REGISTER, body, format="json")


@pytest.mark.smoke
def test_registration_creates_the_player_and_logs_them_in(api, settings):
    response = register(api, displayName="The Newcomer")

    assert response.status_code == 201
    body = response.json()
    assert body["player"]["displayName"] == "The Newcomer"
    player = Player.objects.get(username="newcomer")
    assert PlayerProfile.objects.filter(player=player).exists()
    assert PlayerPosition.objects.filter(player=player).exists()
    inventory = Inventory.objects.get(player=player)
    assert inventory.wood == settings.GAME_STARTER_KIT["wood"]
    assert bearer_client(body["access"]).get("/api/players/me/").status_code == 200


@pytest.mark.smoke
def test_a_failure_after_the_player_insert_leaves_no_row(monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services.InventoryRepository, "create", broken)

    with pytest.raises(RuntimeError):
        services.player_register(username="doomed", email="doomed@example.com", password="x" * 12)

    assert not Player.objects.exists()
    assert not PlayerProfile.objects.exists()
    assert not PlayerPosition.objects.exists()
    assert not Inventory.objects.exists()


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"username": "NEWCOMER"}, "username", "That username is already taken."),
        ({"email": "NewComer@Example.com"}, "email", "That email is already registered."),
    ],
)
def test_taken_username_or_email_is_named(api, overrides, field, message):
    register(api)

    response = register(api, **{"username": "someone", "email": "someone@example.com", **overrides})

    assert response.status_code == 400
    assert response.json()[field] == [message]


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"username": "no spaces"}, "username"),
        ({"username": "ab"}, "username"),
        ({"username": 12345}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "newcomer1"}, "password"),
        ({"isStaff": True}, "isStaff"),
        ({"level": 99}, "level"),
    ],
)
def test_bad_registration_input_names_the_field(api, overrides, field):
    response = register(api, **overrides)

    assert response.status_code == 400
    assert field in response.json()
    assert not Player.objects.exists()


def test_registration_refuses_a_body_that_is_not_an_object(api):
    response = api.post(REGISTER, "[1, 2]", content_type="application/json")

    assert response.status_code == 400
