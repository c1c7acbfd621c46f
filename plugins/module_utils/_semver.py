# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice. Shared by modules, filters and roles.
"""Semantic versions as this collection understands them.

One implementation (the ``semver`` package) behind a small API, so modules,
filters and roles agree on what a version is and how versions sort.

Rules, documented for operators:

* A version is a full SemVer 2.0.0 string without a ``v`` prefix: ``1.38.1``,
  ``2.0.0-rc.1``, ``1.0.0+build.5``. Git tags and image tags carry it that way.
* ``v1.4.2``, ``1.4``, ``latest``, ``stable``, ``dev`` are *not* versions:
  they are ordinary tags. ``parse`` rejects them; ``is_version`` says False.
* Prereleases (``1.5.0-rc.1``) are versions but are left out of lists and of
  "newest" unless asked for.
* Ordering is SemVer precedence; build metadata does not change precedence,
  ties are broken by the string so sorting is stable and total.
"""

from __future__ import annotations

try:
    import semver as _semver_lib

    HAS_SEMVER = True
    SEMVER_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised on hosts without semver
    _semver_lib = None
    HAS_SEMVER = False
    SEMVER_IMPORT_ERROR = exc

# semver 3.x has semver.Version; semver 2.10 (Debian 12) has VersionInfo.
_Version = None
if _semver_lib is not None:
    _Version = getattr(_semver_lib, "Version", None) or _semver_lib.VersionInfo

BUMP_PARTS = ("major", "minor", "patch", "prerelease")


class VersionError(ValueError):
    """A string that is not a semantic version where one is required."""


def _require_lib():
    if _Version is None:
        raise VersionError(
            "the Python package 'semver' is required (pip install semver, or the Debian package python3-semver)"
        )


def parse(text):
    """Return a parsed version or raise VersionError with an actionable message."""
    _require_lib()
    if not isinstance(text, str):
        raise VersionError("a version must be a string like 1.4.2, got %s" % type(text).__name__)
    candidate = text.strip()
    if candidate != text or not candidate:
        raise VersionError("%r is not a semantic version (expected MAJOR.MINOR.PATCH such as 1.4.2)" % (text,))
    if candidate[:1] in ("v", "V") and is_version(candidate[1:]):
        raise VersionError(
            "%r has a 'v' prefix: versions are written without it (use %r)" % (text, candidate[1:])
        )
    try:
        return _Version.parse(candidate)
    except (ValueError, TypeError):
        raise VersionError(
            "%r is not a semantic version (expected MAJOR.MINOR.PATCH such as 1.4.2)" % (text,)
        ) from None


def is_version(text):
    """True if ``text`` is a full semantic version (no ``v`` prefix)."""
    if _Version is None or not isinstance(text, str) or not text or text != text.strip():
        return False
    try:
        _Version.parse(text)
    except (ValueError, TypeError):
        return False
    return True


def is_prerelease(text):
    return parse(text).prerelease is not None


def sort_key(text):
    """Key for sorting version strings by SemVer precedence (stable, total)."""
    v = parse(text)
    return (_PrecedenceKey(v), text)


class _PrecedenceKey:
    __slots__ = ("v",)

    def __init__(self, v):
        self.v = v

    def __lt__(self, other):
        return self.v.compare(other.v) < 0

    def __eq__(self, other):
        return self.v.compare(other.v) == 0

    def __hash__(self):  # pragma: no cover - keys are not hashed
        return hash((self.v.major, self.v.minor, self.v.patch, self.v.prerelease))


def compare(a, b):
    """-1, 0 or 1 by SemVer precedence (build metadata ignored)."""
    return parse(a).compare(parse(b))


def versions_from_tags(tags, include_prerelease=False):
    """The version tags among ``tags``, sorted oldest to newest."""
    found = [t for t in tags if is_version(t) and (include_prerelease or parse(t).prerelease is None)]
    return sorted(set(found), key=sort_key)


def newest(versions, include_prerelease=False):
    """The newest version in ``versions`` or None."""
    ordered = versions_from_tags(versions, include_prerelease=include_prerelease)
    return ordered[-1] if ordered else None


def bump(text, part, prerelease_token="rc"):
    """Bump ``part`` (major, minor, patch, prerelease) of a version string."""
    v = parse(text)
    if part == "major":
        return str(v.bump_major())
    if part == "minor":
        return str(v.bump_minor())
    if part == "patch":
        return str(v.bump_patch())
    if part == "prerelease":
        return str(v.bump_prerelease(token=prerelease_token))
    raise VersionError("cannot bump %r: choose one of %s" % (part, ", ".join(BUMP_PARTS)))


def nearest(target, versions, count=3):
    """The ``count`` versions closest to ``target`` (by precedence), for error messages."""
    ordered = versions_from_tags(versions, include_prerelease=True)
    if not ordered:
        return []
    if not is_version(target):
        return ordered[-count:]
    t = parse(target)
    below = [x for x in ordered if parse(x).compare(t) < 0]
    above = [x for x in ordered if parse(x).compare(t) > 0]
    picked = below[-count:] + above[:count]
    # keep the closest ones around the target
    while len(picked) > count:
        if len(below[-count:]) >= len(above[:count]) and below:
            below = below[1:]
        else:
            above = above[:-1]
        picked = below[-count:] + above[:count]
    return picked


def next_version(text, part, prerelease_token="rc"):
    """The next release version after ``text`` when bumping ``part``, the way npm does it.

    Unlike ``bump`` (the semver package's arithmetic), a bump never goes
    backwards or skips the release a prerelease leads up to:

    * ``patch``: ``1.2.3`` -> ``1.2.4``; ``1.2.4-rc.1`` -> ``1.2.4`` (release it)
    * ``minor``: ``1.2.3`` -> ``1.3.0``; ``1.3.0-rc.1`` -> ``1.3.0``; ``1.2.4-rc.1`` -> ``1.3.0``
    * ``major``: ``1.2.3`` -> ``2.0.0``; ``2.0.0-rc.1`` -> ``2.0.0``; ``1.3.0-rc.1`` -> ``2.0.0``
    * ``prerelease``: ``1.2.3`` -> ``1.2.4-rc.1``; ``1.2.4-rc.1`` -> ``1.2.4-rc.2``

    Build metadata is dropped.
    """
    v = parse(text)
    pre = v.prerelease is not None
    if part == "patch":
        return "%d.%d.%d" % (v.major, v.minor, v.patch if pre else v.patch + 1)
    if part == "minor":
        if pre and v.patch == 0:
            return "%d.%d.0" % (v.major, v.minor)
        return "%d.%d.0" % (v.major, v.minor + 1)
    if part == "major":
        if pre and v.patch == 0 and v.minor == 0:
            return "%d.0.0" % v.major
        return "%d.0.0" % (v.major + 1)
    if part == "prerelease":
        if pre:
            # Same on semver 2.10 and 3: increment the last numeric identifier, else append ".1".
            ids = str(v.prerelease).split(".")
            if ids[-1].isdigit():
                ids[-1] = str(int(ids[-1]) + 1)
            else:
                ids.append("1")
            return "%d.%d.%d-%s" % (v.major, v.minor, v.patch, ".".join(ids))
        if not isinstance(prerelease_token, str) or not is_version("0.0.0-%s.1" % prerelease_token):
            raise VersionError("%r is not a valid prerelease token (use letters, digits and '-', e.g. rc)"
                               % (prerelease_token,))
        return "%d.%d.%d-%s.1" % (v.major, v.minor, v.patch + 1, prerelease_token)
    raise VersionError("cannot bump %r: choose one of %s" % (part, ", ".join(BUMP_PARTS)))
