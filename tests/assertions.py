from contextlib import contextmanager

import pytest
from django.db import DataError, IntegrityError, transaction


@contextmanager
def refused_by_database():
    """Expect the database itself to refuse the statement in the block."""
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        yield
