# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""The status report on the controller (``status_rows`` / ``status_table`` filters of the status role).

:func:`rows` turns the ``release_info`` results of every host (``collect`` in
``plugins/module_utils/_status.py``, on the hosts) plus the registry lookups
into one row per environment, host and service; :func:`table` prints them.
"""

from __future__ import annotations

from ansible_collections.aegee.deploy.plugins.module_utils import _semver
from ansible_collections.aegee.deploy.plugins.module_utils._status import short_digest, sort_versions


def _cell(value, default="-"):
    return default if value in (None, "", [], {}) else str(value)


def source_text(source, length=8):
    """``core@4f1c0d9e`` (the submodule folder and commit) or ``repo@9a0e11c2`` (the deploy repo); ``-`` if unknown."""
    if not isinstance(source, dict) or not source.get("commit"):
        return "-"
    return "%s@%s" % (source.get("submodule") or "repo", source["commit"][:length])


def _verified_in(hosts, environment, svc, version, digest):
    """True/False whether a host of ``environment`` verified ``version`` of ``svc`` (same digest); None if unknown."""
    seen = False
    for host in hosts:
        if host.get("environment") != environment or not isinstance(host.get("info"), dict):
            continue
        seen = True
        entry = ((host["info"].get("services") or {}).get(svc)) or {}
        if version in (entry.get("verified") or []):
            known = (entry.get("verified_digests") or {}).get(version)
            if not digest or not known or known == digest:
                return True
    return False if seen else None


def rows(hosts, registry=None):
    """One row per environment, host and service.

    ``hosts``: list of ``{"host", "environment", "promote_from", "info"}`` where
    ``info`` is a ``release_info`` result (or a failed result with ``msg``).
    ``registry``: ``{service: image_version_info result}``.
    """
    registry = registry or {}
    out = []
    for host in sorted(hosts, key=lambda h: (str(h.get("environment")), str(h.get("host")))):
        info = host.get("info") or {}
        base = {"environment": host.get("environment") or "-", "host": host.get("host")}
        if "exists" not in info or info.get("failed") or info.get("unreachable"):
            reason = "could not read the host: %s" % (info.get("msg") or "no result")
        elif not info["exists"]:
            reason = "no deploy repo checkout at %s" % info.get("root")
        elif not info.get("services"):
            reason = "no services in the compose project"
        else:
            reason = None
        if reason:
            out.append(dict(base, service="-", state="unknown", running="-", running_version=None,
                            running_digest=None, healthcheck="-", pinned="-", pinned_version=None, newest="-",
                            newest_version=None, latest=None, verified="-", held="-", source="-", drift=[reason],
                            problem=True, lock=None))
            continue
        lock = info.get("lock")
        lock_text = None
        if lock:
            lock_text = "%s by %s since %s%s" % (
                "STALE lock" if lock.get("stale") else "locked", lock.get("owner", "?"), lock.get("time", "?"),
                (" for " + str(lock.get("targets"))) if lock.get("targets") else "",
            )
        source = host.get("promote_from")
        for svc, s in sorted((info.get("services") or {}).items()):
            container = s.get("container") or {}
            version, digest = s.get("running_version"), s.get("running_digest")
            state = container.get("state") or "missing"
            if container.get("health"):
                state = "%s/%s" % (state, container["health"])
            running = "-"
            if container:
                running = "%s@%s" % (_cell(version, "?"), short_digest(digest)) if digest else _cell(version, "?")
            hc = s.get("healthcheck") or {}
            if not hc:
                hc_text = "-"
            elif hc.get("error") and not hc.get("version"):
                hc_text = "DOWN"
            else:
                hc_text = _cell(hc.get("version"), "ok") + (" (!)" if hc.get("error") else "")
            pinned = s.get("pinned_version") or ("(no tag)" if s.get("pinned") else "-")
            if s.get("pinned_digest"):
                pinned += "@" + short_digest(s["pinned_digest"])
            reg = registry.get(svc) or {}
            newest = reg.get("latest_version")
            latest = reg.get("latest_points_to")
            if reg.get("failed"):
                newest_text = "?"
            elif newest:
                newest_text = newest + ("" if latest == newest else "(latest=%s)" % _cell(latest, "none"))
            else:
                newest_text = "-"
            check_version = version or s.get("pinned_version")
            here = check_version in (s.get("verified") or []) if check_version else False
            if source:
                ok = _verified_in(hosts, source, svc, check_version, digest) if check_version else False
                verified = "%s:%s" % (source, {True: "yes", False: "no", None: "?"}[ok])
            else:
                ok = here
                verified = "yes" if here else "no"
            bad = s.get("bad") or {}
            if check_version and check_version in bad:
                held = "RUNS-BAD:%s" % check_version
            elif bad:
                held = "bad:%s" % ",".join(sort_versions(bad))
            else:
                held = "-"
            update = bool(newest and check_version and _semver.HAS_SEMVER and _semver.is_version(newest)
                          and _semver.is_version(check_version) and _semver.compare(newest, check_version) > 0)
            drift = list(s.get("drift") or [])
            out.append(dict(
                base,
                service=svc,
                state=state,
                running=running,
                running_version=version,
                running_digest=digest,
                healthcheck=hc_text,
                healthcheck_version=hc.get("version"),
                healthcheck_error=hc.get("error"),
                pinned=pinned,
                pinned_version=s.get("pinned_version"),
                pinned_image=s.get("pinned"),
                source=source_text(s.get("source")),
                source_info=s.get("source"),
                newest=newest_text,
                newest_version=newest,
                latest=latest,
                update_available=update,
                verified=verified,
                verified_ok=ok,
                verified_here=s.get("verified") or [],
                held=held,
                bad=bad,
                drift=drift,
                problem=bool(drift) or state.split("/")[0] != "running" or hc_text == "DOWN"
                or (container.get("health") not in (None, "healthy")),
                lock=lock_text,
                last_release=info.get("last_release"),
            ))
    return out


COLUMNS = (
    ("environment", "ENV"),
    ("host", "HOST"),
    ("service", "SERVICE"),
    ("running", "RUNNING"),
    ("state", "STATE"),
    ("healthcheck", "HEALTHCHECK"),
    ("pinned", "PINNED"),
    ("source", "SOURCE"),
    ("newest", "NEWEST"),
    ("verified", "VERIFIED"),
    ("held", "HELD/BAD"),
    ("drift", "DRIFT"),
)


def table(row_list):
    """The rows as aligned text lines (a header first); drift details follow, one line each."""
    cells = []
    for row in row_list:
        line = []
        for key, _title in COLUMNS:
            value = row.get(key)
            if key == "drift":
                value = "DRIFT(%d)" % len(value) if value else "ok"
            line.append(_cell(value))
        cells.append(line)
    header = [title for _key, title in COLUMNS]
    widths = [max(len(c[i]) for c in [header, *cells]) for i in range(len(header))]
    fmt = "  ".join("%%-%ds" % w for w in widths)
    lines = [(fmt % tuple(header)).rstrip()]
    lines += [(fmt % tuple(c)).rstrip() for c in cells]
    notes = []
    locks = set()
    for row in row_list:
        for text in row.get("drift") or []:
            notes.append("  %s %s %s: %s" % (row["environment"], row["host"], row["service"], text))
        if row.get("lock") and row["host"] not in locks:
            locks.add(row["host"])
            notes.append("  %s %s: %s" % (row["environment"], row["host"], row["lock"]))
    if notes:
        lines.append("")
        lines.append("drift and locks:")
        lines += notes
    return lines
