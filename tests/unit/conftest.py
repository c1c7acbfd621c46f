"""The reliability report's marker, fixture and hooks, for unit tests that are rows of it (security)."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# pytest finds the fixture and hooks by their names in this module
from reliability import (  # noqa: E402,F401 pylint: disable=unused-import,wrong-import-position
    pytest_configure,
    pytest_runtest_makereport,
    pytest_sessionfinish,
    reliability,
)
