import uuid

import pytest
from django.core.management import call_command

from flags.sample_world import START_FLAG_ID
from mmo.geo import point
from tests.factories import FlagFactory

pytestmark = pytest.mark.django_db

FLAGS = "/api/flags/"


def names(response):
    assert response.status_code == 200, response.json()
    return sorted(feature["properties"]["name"] for feature in response.json()["features"])


@pytest.mark.smoke
def test_flag_features_carry_the_original_clients_keys(player_api):
    call_command("seed_world")

    body = player_api.get(f"{FLAGS}{START_FLAG_ID}/").json()

    assert body["type"] == "Feature" and body["geometry"]["type"] == "Point"
    assert {
        "ownerId",
        "name",
        "radius",
        "visualBoundary",
        "isPublic",
        "toll",
        "isHardened",
        "isAbandoned",
        "health",
        "type",
    } <= set(body["properties"])
    assert body["properties"]["type"] == "system" and body["properties"]["ownerId"] is None


def test_flags_by_box_near_and_owner(player_api, player):
    FlagFactory(name="mine", owner=player, location=point(0.001, 0))
    FlagFactory(name="theirs", location=point(0.003, 0))
    FlagFactory(name="far", location=point(3, 3))

    assert names(player_api.get(f"{FLAGS}?bbox=-0.01,-0.01,0.01,0.01")) == ["mine", "theirs"]
    assert names(player_api.get(f"{FLAGS}?near=0,0&radius=200")) == ["mine"]
    assert names(player_api.get(f"{FLAGS}?owner=me")) == ["mine"]
    assert names(player_api.get(f"{FLAGS}?owner={player.pk}&bbox=2,2,4,4")) == []


@pytest.mark.parametrize(
    "query", ["?owner=someone", "?near=0,0", "?bbox=1,2,3", "?near=x,0&radius=3"]
)
def test_bad_flag_filters_are_refused(player_api, query):
    assert player_api.get(f"{FLAGS}{query}").status_code == 400


def test_unknown_flag_is_not_found(player_api):
    assert player_api.get(f"{FLAGS}{uuid.uuid4()}/").status_code == 404
    assert player_api.get(f"{FLAGS}not-a-uuid/").status_code == 404


def test_flags_need_a_login(api):
    assert api.get(FLAGS).status_code == 401


# Throttling ---------------------------------------------------------------------


@pytest.fixture
def flag_actions_throttled(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "flag-actions": "3/minute",
        },
    }


def test_flag_actions_are_throttled_per_player(player_api, other_api, flag_actions_throttled):
    call_command("seed_world")
    flag_id = player_api.post(
        FLAGS, {"position": {"lat": 0.001, "lng": 0}, "name": "Camp"}, format="json"
    ).json()["id"]
    statuses = [
        player_api.post(f"{FLAGS}{flag_id}/harden/").status_code,
        player_api.post(f"{FLAGS}{flag_id}/teleport/").status_code,
    ]

    throttled = player_api.delete(f"{FLAGS}{flag_id}/")

    assert statuses == [200, 200]
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled"
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert player_api.get(f"{FLAGS}{flag_id}/").status_code == 200  # reading is no action
    assert other_api.post(f"{FLAGS}{START_FLAG_ID}/teleport/").status_code == 200
