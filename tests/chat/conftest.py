import pytest
from django.contrib.auth.hashers import make_password

from chat.models import ChatRoom, RoomKind

VAULT_PASSWORD = "open-sesame"


@pytest.fixture
def rooms(db):
    """A public room and a private one (transactional tests empty the migration's rooms)."""
    trade, _ = ChatRoom.objects.get_or_create(id="trade", defaults={"name": "Trade"})
    vault = ChatRoom.objects.create(
        id="vault", name="Vault", kind=RoomKind.PRIVATE, password=make_password(VAULT_PASSWORD)
    )
    return trade, vault
