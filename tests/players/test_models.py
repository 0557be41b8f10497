from datetime import timedelta

import pytest

from players.models import INVENTORY_RESOURCES, Inventory, Player, PlayerProfile, Session
from tests.assertions import refused_by_database
from tests.factories import PlayerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.smoke
def test_registration_gives_profile_position_and_starter_inventory(settings):
    player = PlayerFactory(username="newcomer")

    assert player.profile.level == 1
    assert player.profile.display_name == "newcomer"
    assert (player.position.location.x, player.position.location.y) == settings.GAME_START_POINT
    for resource, amount in settings.GAME_STARTER_KIT.items():
        assert getattr(player.inventory, resource) == amount


@pytest.mark.smoke
def test_password_is_hashed_with_argon2():
    player = PlayerFactory(password="s3cret-enough-password")

    assert player.password.startswith("argon2$")
    assert player.check_password("s3cret-enough-password")


@pytest.mark.smoke
def test_email_is_unique_ignoring_case():
    PlayerFactory(email="Someone@Example.com")

    with refused_by_database():
        Player.objects.bulk_create([Player(username="another", email="someone@example.com")])


def test_username_is_unique_ignoring_case():
    PlayerFactory(username="Alice")

    with refused_by_database():
        Player.objects.bulk_create([Player(username="alice", email="other@example.com")])


@pytest.mark.parametrize("username", ["ab", "has space", "x" * 51, "semi;colon", "ünïcode"])
def test_database_refuses_malformed_username(player, username):
    with refused_by_database():
        type(player).objects.filter(pk=player.pk).update(username=username)


@pytest.mark.smoke
def test_level_below_one_is_refused(player):
    with refused_by_database():
        PlayerProfile.objects.filter(pk=player.pk).update(level=0)


def test_negative_experience_is_refused(player):
    with refused_by_database():
        PlayerProfile.objects.filter(pk=player.pk).update(experience=-1)


@pytest.mark.parametrize("health, max_health", [(-1, 100), (101, 100)])
def test_health_outside_zero_to_max_is_refused(player, health, max_health):
    with refused_by_database():
        PlayerProfile.objects.filter(pk=player.pk).update(health=health, max_health=max_health)


def test_health_at_bounds_is_accepted(player):
    PlayerProfile.objects.filter(pk=player.pk).update(health=0, max_health=100)
    PlayerProfile.objects.filter(pk=player.pk).update(health=100, max_health=100)


@pytest.mark.smoke
@pytest.mark.parametrize("resource", INVENTORY_RESOURCES)
def test_inventory_count_below_zero_is_refused(player, resource):
    with refused_by_database():
        Inventory.objects.filter(pk=player.pk).update(**{resource: -1})

    assert getattr(Inventory.objects.get(pk=player.pk), resource) >= 0


def test_session_expires_seven_days_after_creation(player):
    session = Session.objects.create(player=player, ip_address="192.0.2.1", user_agent="test")

    assert session.expires_at - session.created_at == pytest.approx(
        timedelta(days=7), abs=timedelta(seconds=1)
    )
    assert session.is_valid and session.is_active


def test_session_expiring_before_creation_is_refused(player):
    session = Session.objects.create(player=player)

    with refused_by_database():
        Session.objects.filter(pk=session.pk).update(expires_at=session.created_at)


def test_deleting_a_player_deletes_their_game_state(player):
    player.delete()

    assert not PlayerProfile.objects.exists()
    assert not Inventory.objects.exists()
