import pytest
from django.contrib.gis.geos import GEOSGeometry

from areas.models import Area
from tests.assertions import refused_by_database
from tests.factories import AreaFactory

pytestmark = pytest.mark.django_db

BOWTIE = "SRID=4326;MULTIPOLYGON(((0 0, 1 1, 1 0, 0 1, 0 0)))"


@pytest.mark.smoke
def test_database_refuses_a_self_intersecting_boundary():
    with refused_by_database():
        AreaFactory(boundary=GEOSGeometry(BOWTIE))

    assert not Area.objects.exists()


def test_database_refuses_an_unknown_area_type():
    with refused_by_database():
        AreaFactory(area_type="volcano")


def test_area_properties_default_to_the_documented_keys():
    area = AreaFactory()

    assert set(area.properties) == {
        "description",
        "allow_pvp",
        "allow_building",
        "resources",
        "hazards",
    }
