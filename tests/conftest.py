"""Make ``ansible_collections.aegee.deploy`` importable from a checkout."""

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
