# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Semantic version filters: semver_sort, semver_compare, semver_newest, semver_is_version, semver_bump.

Documentation of each filter is in the ``<name>.yml`` file next to this one.
All of them use the collection's one semver implementation
(``plugins/module_utils/_semver.py``), so playbooks, modules and roles agree.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.aegee.deploy.plugins.module_utils import _semver


def _require():
    if not _semver.HAS_SEMVER:
        raise AnsibleFilterError(
            "the aegee.deploy semver filters need the Python package 'semver' on the controller (pip install semver)"
        )


def _strings(value, name):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise AnsibleFilterError(f"{name} expects a list of tags, got {type(value).__name__}")
    return [str(v) for v in value]


def semver_sort(tags, include_prerelease=False, reverse=False):
    """The semantic versions among ``tags``, oldest first (newest first with reverse=True)."""
    _require()
    ordered = _semver.versions_from_tags(
        _strings(tags, "semver_sort"), include_prerelease=bool(include_prerelease)
    )
    return list(reversed(ordered)) if reverse else ordered


def semver_compare(a, b):
    """-1, 0 or 1 by SemVer precedence."""
    _require()
    try:
        return _semver.compare(str(a), str(b))
    except _semver.VersionError as exc:
        raise AnsibleFilterError(f"semver_compare: {exc}") from None


def semver_newest(tags, include_prerelease=False):
    """The newest semantic version among ``tags``, or None."""
    _require()
    return _semver.newest(_strings(tags, "semver_newest"), include_prerelease=bool(include_prerelease))


def semver_is_version(value):
    """True if ``value`` is a full semantic version without a ``v`` prefix."""
    _require()
    return isinstance(value, str) and _semver.is_version(value)


def semver_bump(version, part="patch", prerelease_token="rc"):
    """The next version after ``version`` (same rules as aegee.deploy.service_version)."""
    _require()
    try:
        return _semver.next_version(str(version), part, prerelease_token=prerelease_token)
    except _semver.VersionError as exc:
        raise AnsibleFilterError(f"semver_bump: {exc}") from None


class FilterModule:
    def filters(self):
        return {
            "semver_sort": semver_sort,
            "semver_compare": semver_compare,
            "semver_newest": semver_newest,
            "semver_is_version": semver_is_version,
            "semver_bump": semver_bump,
        }
