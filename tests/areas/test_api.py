import json

import pytest
from django.core.management import call_command

from areas.models import Area

pytestmark = pytest.mark.django_db

AREAS = "/api/areas/"
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[1, 1], [1.01, 1], [1.01, 1.01], [1, 1.01], [1, 1]]],
}


@pytest.fixture
def world():
    call_command("seed_world")


def area_ids(response):
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["type"] == "FeatureCollection"
    return sorted(feature["id"] for feature in body["features"])


@pytest.mark.smoke
def test_areas_list_is_a_geojson_feature_collection(player_api, world):
    body = player_api.get(AREAS).json()

    assert body["type"] == "FeatureCollection"
    feature = next(f for f in body["features"] if f["id"] == "starting-area")
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert feature["properties"]["areaType"] == "safe"
    assert feature["properties"]["properties"]["allow_pvp"] is False


def test_contains_filter_respects_holes(player_api, world):
    assert area_ids(player_api.get(f"{AREAS}?contains=0.005,0.005")) == ["starting-area"]
    assert area_ids(player_api.get(f"{AREAS}?contains=0.05,0.05")) == ["wilderness"]


def test_bbox_filter(player_api, world):
    assert area_ids(player_api.get(f"{AREAS}?bbox=0.015,-0.005,0.02,0.005")) == ["city-area"]
    assert area_ids(player_api.get(f"{AREAS}?bbox=5,5,6,6")) == []


@pytest.mark.parametrize("query", ["?contains=1", "?contains=0,100", "?bbox=0,0,x,1"])
def test_bad_area_filters_are_refused(player_api, query):
    assert player_api.get(f"{AREAS}{query}").status_code == 400


def test_inactive_areas_are_for_staff_only(player_api, staff_api, world):
    Area.objects.filter(pk="city-area").update(is_active=False)

    assert "city-area" not in area_ids(player_api.get(AREAS))
    assert player_api.get(f"{AREAS}city-area/").status_code == 404
    assert "city-area" in area_ids(staff_api.get(AREAS))
    assert staff_api.get(f"{AREAS}city-area").status_code == 200


def create(api, **overrides):
    body = {"id": "plaza", "name": "Plaza", "areaType": "city", "boundary": SQUARE, **overrides}
    return api.post(AREAS, body, format="json")


def test_staff_creates_an_area_from_a_polygon(staff_api):
    response = create(staff_api, properties={"description": "Market", "allow_pvp": False})

    assert response.status_code == 201
    area = Area.objects.get(pk="plaza")
    assert area.boundary.geom_type == "MultiPolygon"
    assert area.boundary.extent == pytest.approx((1, 1, 1.01, 1.01))


def test_players_cannot_write_areas(player_api, world):
    assert create(player_api).status_code == 403
    assert (
        player_api.patch(f"{AREAS}city-area/", {"name": "Mine"}, format="json").status_code == 403
    )
    assert player_api.delete(f"{AREAS}city-area/").status_code == 403
    assert Area.objects.get(pk="city-area").name == "City"


@pytest.mark.parametrize(
    "boundary, message",
    [
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            "Self-intersection",
        ),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "Invalid format"),
        (
            {"type": "Polygon", "coordinates": [[[170, 0], [190, 0], [190, 1], [170, 0]]]},
            "lng must lie",
        ),
        ({"type": "Point", "coordinates": [1, 1]}, "Polygon or MultiPolygon"),
        ("not geojson", "unrecognized"),
        (42, "GeoJSON"),
        (None, "null"),
        (
            {
                "type": "Polygon",
                "coordinates": SQUARE["coordinates"],
                "crs": {"type": "link", "properties": {"href": "http://example.com/crs"}},
            },
            "external CRS",
        ),
    ],
    ids=[
        "self-intersecting",
        "unclosed",
        "out-of-range",
        "point",
        "text",
        "number",
        "null",
        "external-crs",
    ],
)
def test_invalid_boundaries_are_refused_with_a_message(staff_api, boundary, message):
    payload = json.dumps({"id": "bad", "name": "Bad", "areaType": "city", "boundary": boundary})

    response = staff_api.post(AREAS, payload, content_type="application/json")

    assert response.status_code == 400, response.content
    assert message in json.dumps(response.json()["boundary"])
    assert not Area.objects.filter(pk="bad").exists()


def test_an_infinite_coordinate_is_refused_when_the_body_is_read(staff_api):
    # Sent as 1e400 (json.dumps would write Infinity, which JSON does not allow),
    # it parses to infinity: the body's parser refuses it before the boundary is read.
    payload = (
        '{"id": "bad", "name": "Bad", "areaType": "city", "boundary": '
        '{"type": "Polygon", "coordinates": [[[0, 0], [1e400, 0], [1, 1], [0, 0]]]}}'
    )

    response = staff_api.post(AREAS, payload, content_type="application/json")

    assert response.status_code == 400
    assert "1e400 is out of range" in response.json()["detail"]
    assert not Area.objects.filter(pk="bad").exists()


def test_boundary_over_the_vertex_limit_is_refused(staff_api, settings):
    settings.AREA_MAX_VERTICES = 4

    response = create(staff_api)

    assert response.status_code == 400
    assert "the limit is 4" in response.json()["boundary"][0]


def test_duplicate_id_and_unknown_fields_are_refused(staff_api, world):
    assert create(staff_api, id="city-area").json() == {"id": ["An area with this id exists."]}
    assert "isStaff" in create(staff_api, isStaff=True).json()


def test_staff_updates_and_deletes_an_area(staff_api, world):
    response = staff_api.patch(
        f"{AREAS}city-area/", {"name": "Capital", "isActive": False}, format="json"
    )
    assert response.status_code == 200
    area = Area.objects.get(pk="city-area")
    assert (area.name, area.is_active) == ("Capital", False)

    assert staff_api.patch(f"{AREAS}city-area/", {"id": "moved"}, format="json").status_code == 400
    assert staff_api.delete(f"{AREAS}city-area/").status_code == 204
    assert not Area.objects.filter(pk="city-area").exists()
