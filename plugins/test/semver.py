# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Jinja2 test ``aegee.deploy.semver_version``; documented in ``semver_version.yml``."""

from __future__ import annotations

from ansible_collections.aegee.deploy.plugins.module_utils import _semver


def semver_version(value, include_prerelease=True):
    """True if ``value`` is a semantic version (optionally: and not a prerelease)."""
    if not isinstance(value, str) or not _semver.is_version(value):
        return False
    return bool(include_prerelease) or not _semver.is_prerelease(value)


class TestModule:
    def tests(self):
        return {"semver_version": semver_version}
