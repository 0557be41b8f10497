"""
Territories (docs/game-rules.md): each flag holds its disc minus the land of
other players' earlier flags; a flag stands only on free land and keeps at
least the minimum share; start hubs and settlements' edges keep land open
for new players; "where may I build?"; takeover.
"""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from flags import services
from flags.models import Flag, FlagType
from flags.repositories import FlagRepository
from flags.sample_world import START_FLAG_ID, system_flag_id
from mmo.geo import distance_m, metres_per_degree, point
from movement.models import PlayerPosition
from players.models import Inventory
from players.services import player_register
from tests.conftest import bearer_client, login_tokens
from tests.factories import DEFAULT_PASSWORD, FlagFactory, PlayerFactory
from tests.geodesy import north_of_equator

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(db):
    call_command("seed_world")


def place(player, location, name="Camp"):
    return services.flag_place(
        player=player, lng=location.x, lat=location.y, name=name, is_public=False, toll=0
    )


def refusal(action) -> services.FlagActionRefused:
    with pytest.raises(services.FlagActionRefused) as refused:
        action()
    return refused.value


def share_of(flag: Flag) -> float:
    """The share of its disc a flag holds, as PostGIS measures it (geography)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_Area(territory::geography) / "
            "ST_Area(ST_Buffer(location::geography, radius)) FROM flags WHERE id = %s",
            [flag.pk],
        )
        return cursor.fetchone()[0] or 0.0


def largest_overlap_m2() -> float:
    """The largest area two players' territories share (PostGIS, GiST join)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT COALESCE(MAX(ST_Area(ST_Intersection(a.territory, b.territory)::geography)), 0)
            FROM flags a JOIN flags b
              ON a.id < b.id AND a.owner_id <> b.owner_id
             AND a.territory && b.territory AND ST_Intersects(a.territory, b.territory)
            """
        )
        return cursor.fetchone()[0]


# Land -----------------------------------------------------------------------------------


def test_a_flag_in_open_land_holds_its_whole_disc(seeded, requires_postgis):
    flag = place(PlayerFactory(), north_of_equator(100))

    assert flag.territory.geom_type == "MultiPolygon"
    assert share_of(flag) == pytest.approx(1.0)


def test_a_later_flag_holds_its_disc_minus_the_earlier_land(seeded, requires_postgis):
    first = place(PlayerFactory(), north_of_equator(-300))
    second = place(PlayerFactory(), north_of_equator(300))

    # Centres 600 m apart: the lens they share (28 % of a disc) stays the first's.
    assert share_of(first) == pytest.approx(1.0)
    assert share_of(second) == pytest.approx(0.715, abs=0.01)
    assert largest_overlap_m2() < 1.0


def test_own_flags_may_overlap(seeded, requires_postgis):
    me = PlayerFactory()
    place(me, north_of_equator(-100))
    second = place(me, north_of_equator(100))

    assert share_of(second) == pytest.approx(1.0)


@pytest.mark.smoke
def test_system_flags_claim_no_land(seeded):
    assert Flag.objects.get(pk=START_FLAG_ID).territory is None
    # The start flag stands at (0, 0); a flag right beside it holds everything.
    assert place(PlayerFactory(), north_of_equator(5)).territory.area > 0


@pytest.mark.smoke
def test_two_players_land_never_overlaps_on_either_database(seeded):
    first = place(PlayerFactory(), north_of_equator(-300))
    second = place(PlayerFactory(), north_of_equator(300))
    first.refresh_from_db()
    second.refresh_from_db()

    per_lng, per_lat = metres_per_degree(0.0)
    square_metres = per_lng * per_lat
    assert first.territory.intersection(second.territory).area * square_metres < 1.0
    # Centres 600 m apart: the lens they share (28 % of a disc) stays the first's.
    assert second.territory.area / first.territory.area == pytest.approx(0.715, abs=0.01)
    services.flag_remove(player=first.owner, flag_id=first.pk)
    second.refresh_from_db()
    assert second.territory.area * square_metres == pytest.approx(785_000, rel=0.01)


# The boundaries ----------------------------------------------------------------------------


def test_a_spot_on_the_edge_of_anothers_territory_is_refused(seeded, requires_postgis):
    theirs = place(PlayerFactory(), north_of_equator(0))
    # A vertex of their territory's outline (the northernmost), exactly on its edge.
    edge = max(theirs.territory[0].exterior_ring.coords, key=lambda xy: xy[1])
    me = PlayerFactory()

    refused = refusal(lambda: place(me, point(*edge)))

    assert refused.code == "claimed_land"
    assert refused.spot is not None
    assert (
        FlagRepository.claimant_at(point(refused.spot.lng, refused.spot.lat), owner_id=me.pk)
        is None
    )
    # A metre further out is free land; the flag there keeps 61 % of its disc.
    outside = place(me, point(edge[0], edge[1] + 1.0 / 110_574))
    assert share_of(outside) == pytest.approx(0.61, abs=0.01)


@pytest.mark.smoke
def test_a_spot_leaving_too_small_a_territory_is_refused(seeded):
    neighbour = PlayerFactory()
    place(neighbour, north_of_equator(60 - 505))
    FlagFactory(owner=neighbour, location=north_of_equator(60 + 505))
    me = PlayerFactory()
    inventory = Inventory.objects.get(pk=me.pk)

    refused = refusal(lambda: place(me, north_of_equator(60)))

    assert refused.code == "too_little_land"
    assert "needs 25%" in refused.reason and "nearest spot" in refused.reason
    assert refused.spot.share >= settings.FLAG_MIN_TERRITORY_SHARE
    assert Inventory.objects.get(pk=me.pk).wood == inventory.wood
    place(me, point(refused.spot.lng, refused.spot.lat))


def test_a_removal_frees_land_for_the_next_player(seeded, requires_postgis):
    first, second, third = PlayerFactory(), PlayerFactory(), PlayerFactory()
    blocking = place(first, north_of_equator(0))
    cut = place(second, north_of_equator(700))
    assert share_of(cut) < 0.95
    assert refusal(lambda: place(third, north_of_equator(150))).code == "claimed_land"

    services.flag_remove(player=first, flag_id=blocking.pk)

    cut.refresh_from_db()
    assert share_of(cut) == pytest.approx(1.0)
    # The land is the later neighbour's now, where its disc reaches; the rest is free.
    assert refusal(lambda: place(third, north_of_equator(250))).code == "claimed_land"
    assert place(third, north_of_equator(-150)).territory is not None
    assert largest_overlap_m2() < 1.0


def test_abandoning_frees_land_and_a_visit_reclaims_what_is_left(seeded, requires_postgis):
    owner, neighbour = PlayerFactory(), PlayerFactory()
    old = place(owner, north_of_equator(0))
    later = place(neighbour, north_of_equator(700))
    Flag.objects.filter(pk=old.pk).update(last_visited_at=timezone.now() - timedelta(days=15))

    assert services.flags_abandon_stale() == 1

    old.refresh_from_db()
    later.refresh_from_db()
    assert old.is_abandoned and old.territory is None
    assert share_of(later) == pytest.approx(1.0)
    services.flag_visit(player=owner, flag_id=old.pk)
    old.refresh_from_db()
    # Back, it claims last: what the neighbour's disc left of it.
    assert share_of(old) == pytest.approx(0.812, abs=0.01)
    assert largest_overlap_m2() < 1.0


# Takeover ------------------------------------------------------------------------------------


def test_an_abandoned_flag_is_taken_over_with_its_hardening(seeded, requires_postgis):
    previous, neighbour, me = PlayerFactory(), PlayerFactory(), PlayerFactory()
    flag = place(previous, north_of_equator(0))
    Flag.objects.filter(pk=flag.pk).update(is_hardened=True)
    Flag.objects.filter(pk=flag.pk).update(last_visited_at=timezone.now() - timedelta(days=15))
    services.flags_abandon_stale()
    place(neighbour, north_of_equator(800))
    before = Inventory.objects.get(pk=me.pk)

    taken = services.flag_takeover(player=me, flag_id=flag.pk)

    taken.refresh_from_db()
    after = Inventory.objects.get(pk=me.pk)
    assert taken.owner_id == me.pk and taken.is_hardened and not taken.is_abandoned
    assert (before.wood - after.wood, before.leather - after.leather) == (3, 3)
    # It claims last: the neighbour placed meanwhile keeps its land.
    assert 0.8 < share_of(taken) < 0.95
    assert largest_overlap_m2() < 1.0


@pytest.mark.smoke
@pytest.mark.parametrize(
    "fields, code",
    [
        ({"is_abandoned": False}, "not_abandoned"),
        ({"is_abandoned": True, "flag_type": FlagType.ROC_SHRINE}, "not_taken_over"),
        ({"is_abandoned": True, "flag_type": FlagType.GUARD_TOWER}, "not_taken_over"),
    ],
)
def test_what_cannot_be_taken_over(seeded, fields, code):
    flag = FlagFactory(location=north_of_equator(0), **fields)
    me = PlayerFactory()

    assert refusal(lambda: services.flag_takeover(player=me, flag_id=flag.pk)).code == code
    assert Flag.objects.get(pk=flag.pk).owner_id != me.pk


@pytest.mark.smoke
def test_takeover_over_rest(seeded):
    flag = FlagFactory(location=north_of_equator(0), is_abandoned=True)
    me = PlayerFactory()
    api = bearer_client(login_tokens(me).tokens.access)

    response = api.post(f"/api/flags/{flag.pk}/takeover/")

    assert response.status_code == 200, response.json()
    assert response.json()["properties"]["ownerId"] == str(me.pk)
    assert response.json()["properties"]["territory"]["type"] == "MultiPolygon"
    again = api.post(f"/api/flags/{flag.pk}/takeover/")
    assert again.status_code == 400 and again.json()["code"] == "not_abandoned"


# Where may I build? ------------------------------------------------------------------------


@pytest.mark.smoke
def test_spots_are_nearest_first_and_each_can_be_placed(seeded):
    me = PlayerFactory()
    place(PlayerFactory(), north_of_equator(0))
    api = bearer_client(login_tokens(me).tokens.access)

    response = api.get("/api/flags/spots/", {"near": "0,0", "limit": 5})

    assert response.status_code == 200, response.json()
    spots = response.json()["spots"]
    assert len(spots) == 5
    distances = [spot["distance"] for spot in spots]
    assert distances == sorted(distances) and distances[0] > 495
    assert all(spot["share"] >= 0.25 for spot in spots)
    assert spots[0]["territory"]["type"] == "MultiPolygon"
    first = spots[0]["position"]
    placed = api.post("/api/flags/", {"position": first, "name": "Here"}, format="json")
    assert placed.status_code == 201, placed.json()


@pytest.mark.parametrize(
    "query, field",
    [({}, "near"), ({"near": "0"}, "near"), ({"near": "0,0", "limit": "0"}, "limit")],
)
def test_spots_need_a_point(seeded, query, field):
    api = bearer_client(login_tokens(PlayerFactory()).tokens.access)

    response = api.get("/api/flags/spots/", query)

    assert response.status_code == 400 and field in response.json()


def test_spots_far_from_anywhere_lead_back_to_the_nearest_start_hub(seeded):
    me = PlayerFactory()

    spots = services.flag_spots(player=me, lng=20.0, lat=60.0, limit=3)

    hub = Flag.objects.get(pk=system_flag_id("portal-europe")).location
    assert len(spots) == 3
    assert all(
        distance_m(hub.x, hub.y, spot.lng, spot.lat) <= settings.FLAG_HUB_RANGE_M for spot in spots
    )


# New players are never locked out ------------------------------------------------------


def test_new_players_start_at_a_hub_with_room(seeded):
    with override_settings(FLAG_HUB_CAPACITY=2):
        placed = [place(PlayerFactory(), north_of_equator(metres)) for metres in (0, 1500)]
        newcomer = PlayerFactory()

    position = PlayerPosition.objects.get(pk=newcomer.pk)
    second_hub = Flag.objects.get(pk=system_flag_id("portal-north-america"))
    assert len(placed) == 2
    assert position.location.equals(second_hub.location)
    assert position.anchor_flag_id == second_hub.pk


def test_three_hundred_new_players_each_find_land_and_place_a_first_flag(seeded, requires_postgis):
    started = time.perf_counter()
    timings = []
    for n in range(300):
        player = player_register(
            username=f"settler{n}", email=f"settler{n}@example.com", password=DEFAULT_PASSWORD
        )
        api = bearer_client(login_tokens(player).tokens.access)
        stands = PlayerPosition.objects.get(pk=player.pk).location
        begun = time.perf_counter()
        answer = api.get("/api/flags/spots/", {"near": f"{stands.x},{stands.y}", "limit": 1})
        assert answer.status_code == 200, answer.json()
        spots = answer.json()["spots"]
        assert spots, f"player {n} found no land"
        placed = api.post(
            "/api/flags/", {"position": spots[0]["position"], "name": f"Home {n}"}, format="json"
        )
        assert placed.status_code == 201, (n, placed.json())
        timings.append(time.perf_counter() - begun)

    flags = list(Flag.objects.filter(owner__isnull=False))
    assert len(flags) == 300
    assert largest_overlap_m2() < 1.0
    shares = [share_of(flag) for flag in flags]
    assert min(shares) >= settings.FLAG_MIN_TERRITORY_SHARE
    timings.sort()
    print(
        f"\n300 settlers in {time.perf_counter() - started:.1f} s; spots + place "
        f"median {timings[150] * 1000:.0f} ms, p95 {timings[284] * 1000:.0f} ms; "
        f"smallest share {min(shares):.2f}, mean {sum(shares) / len(shares):.2f}"
    )
