"""Every list comes in pages, and a client cannot ask for pages past API_MAX_PAGE_SIZE."""

import pytest
from django.core.management import call_command

from tests.conftest import login_tokens

pytestmark = pytest.mark.django_db


@pytest.fixture
def listed(player):
    call_command("seed_world")  # 3 areas, 7 system flags
    for _ in range(3):
        login_tokens(player)


def items(body) -> list:
    return body["features"] if "features" in body else body["results"]


@pytest.mark.parametrize("path", ["/api/flags/", "/api/areas/", "/api/auth/sessions/"])
def test_page_size_asked_above_the_cap_is_capped(player_api, listed, settings, path):
    settings.API_MAX_PAGE_SIZE = 2

    body = player_api.get(f"{path}?pageSize=1000").json()

    assert len(items(body)) == 2
    assert body["count"] > 2 and body["next"]


@pytest.mark.parametrize("path", ["/api/flags/", "/api/areas/", "/api/auth/sessions/"])
def test_default_page_size_applies_without_pagesize(player_api, listed, settings, path):
    settings.API_PAGE_SIZE = 1

    body = player_api.get(path).json()

    assert len(items(body)) == 1 and body["count"] > 1
