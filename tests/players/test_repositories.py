import pytest

from players.repositories import PlayerConflict, PlayerRepository

pytestmark = pytest.mark.django_db


@pytest.mark.smoke
@pytest.mark.parametrize(
    "username, email, field, message",
    [
        ("ALICE", "new@example.com", "username", "That username is already taken."),
        ("bob", "ALICE@example.com", "email", "That email is already registered."),
    ],
)
def test_duplicate_username_or_email_is_a_clear_conflict(username, email, field, message):
    PlayerRepository.create(username="alice", email="alice@example.com", password="x" * 12)

    with pytest.raises(PlayerConflict) as conflict:
        PlayerRepository.create(username=username, email=email, password="x" * 12)

    assert (conflict.value.field, conflict.value.message) == (field, message)
