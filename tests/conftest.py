"""Make ``ansible_collections.aegee.deploy`` importable from a checkout; the reliability report's hooks.

Every pytest session under tests/ (unit, integration, soak) fills the
reliability report (docs/reliability.md) through the marker, fixture and
hooks of tests/reliability.py, registered here once for all of them.
"""

from __future__ import annotations

import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(REPO_ROOT, ".collections")
_link = os.path.join(COLLECTIONS, "ansible_collections", "aegee", "deploy")
if not os.path.exists(_link):
    os.makedirs(os.path.dirname(_link), exist_ok=True)
    os.symlink("../../..", _link)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

TESTS = os.path.dirname(os.path.abspath(__file__))
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
# pytest finds the fixture and hooks by their names in this module
from reliability import (  # noqa: E402,F401 pylint: disable=unused-import,wrong-import-position
    pytest_configure,
    pytest_runtest_makereport,
    pytest_sessionfinish,
    reliability,
)
