"""Rules for areas (staff edits); each function is one transaction."""

from django.db import IntegrityError, transaction

from areas.models import Area
from areas.repositories import AreaRepository


class AreaExists(Exception):
    """An area with this id exists already."""


@transaction.atomic
def area_create(**fields) -> Area:
    if AreaRepository.get(fields["id"]) is not None:
        raise AreaExists(fields["id"])
    try:
        with transaction.atomic():
            return AreaRepository.save(Area(**fields))
    except IntegrityError as error:  # created concurrently under the same id
        raise AreaExists(fields["id"]) from error


@transaction.atomic
def area_update(*, area: Area, **changes) -> Area:
    """Change an area's fields; its id is its identity and never changes."""
    for name, value in changes.items():
        setattr(area, name, value)
    return AreaRepository.save(area)


@transaction.atomic
def area_delete(*, area: Area) -> None:
    AreaRepository.delete(area)
