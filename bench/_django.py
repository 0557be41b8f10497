"""Set Django up for a benchmark script run from the checkout."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmo.settings.base")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()
