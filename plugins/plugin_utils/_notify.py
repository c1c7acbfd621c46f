# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""What a run tells the outside: the run's data (hooks), its events and its message (notifications).

All from the hosts' records (``_summary.record``); the ``notify`` action and
the hook tasks of ``roles/_release`` use them.
"""

from __future__ import annotations

import json

from ansible_collections.aegee.deploy.plugins.plugin_utils import _summary

EVENTS = ("success", "failure", "rollback", "hold_released")
DEFAULT_EVENTS = ["success", "failure", "rollback"]
TYPES = ("slack", "mattermost", "matrix", "webhook")


def run_data(records, hook="post", action=None, environment=None, hosts=None, services=None, actor=None,
             status_url=None):
    """The run's data a hook gets: before the release (``hook`` pre: no ``records``; the planned ``services``,
    ``{service: version}`` or the plan's ``{service: {version, digest}}``) or after it (the records tell
    everything)."""
    records = records or []
    first = records[0] if records else {}
    if services is None:
        services = {}
        for rec in records:
            for row in rec.get("services") or []:
                services.setdefault(row["service"], row["to"])
    return {
        "hook": hook,
        "action": action or first.get("action") or "deploy",
        "environment": environment or first.get("environment") or "",
        "hosts": list(hosts if hosts is not None else [r["host"] for r in records]),
        "services": {str(k): str(v.get("version") if isinstance(v, dict) else v)
                     for k, v in sorted((services or {}).items())},
        "actor": actor or first.get("actor") or "",
        "result": _summary.overall(records) if records else "pending",
        "status_url": status_url or "",
        "records": records,
    }


def hook_env(data):
    """``AEGEE_*`` environment variables of a hook (like Kamal's ``KAMAL_*``), all strings."""
    return {
        "AEGEE_HOOK": data["hook"],
        "AEGEE_ACTION": data["action"],
        "AEGEE_ENVIRONMENT": data["environment"],
        "AEGEE_HOSTS": ",".join(data["hosts"]),
        "AEGEE_SERVICES": ",".join(data["services"]),
        "AEGEE_VERSIONS": ",".join("%s=%s" % kv for kv in data["services"].items()),
        "AEGEE_ACTOR": data["actor"],
        "AEGEE_RESULT": data["result"],
        "AEGEE_STATUS_URL": data["status_url"],
        "AEGEE_SUMMARY": json.dumps(data["records"], sort_keys=True, default=str),
    }


def events(records):
    """The events of a finished run: success or failure, rollback (a successful rollback), hold_released."""
    if not records or any(r.get("check") for r in records):
        return []
    result = _summary.overall(records)
    out = []
    if result == "failed":
        out.append("failure")
    elif any(r["action"] == "rollback" for r in records):
        out.append("rollback")
    else:
        out.append("success")
    if any(r.get("holds_released") for r in records):
        out.append("hold_released")
    return out


def _change(row):
    if row["from"] == row["to"]:
        return "%s %s" % (row["service"], row["to"])
    return "%s %s -> %s" % (row["service"], row["from"] or "(none)", row["to"])


def message(records, status_url=None):
    """``(text, payload)``: the chat message, and the generic webhook's JSON (the same facts, structured)."""
    data = run_data(records, status_url=status_url)
    found = events(records)
    verb = {"success": "released", "rollback": "rolled back", "failure": "FAILED"}.get(found[0] if found else "", "")
    lines = ["%s %s of %s %s (by %s)" % (data["action"], data["environment"] or "?",
                                         ", ".join(data["hosts"]), verb or data["result"], data["actor"] or "?")]
    services = []
    for rec in records:
        changes = [_change(row) for row in rec.get("services") or [] if row["changed"]]
        line = "%s: %s" % (rec["host"], "; ".join(changes) if changes else "unchanged")
        if rec["result"] not in _summary.GOOD:
            line += " [%s: %s]" % (rec["result"], rec.get("failure") or "")
        lines.append(line)
        services += [{"host": rec["host"], "service": row["service"], "from": row["from"], "to": row["to"],
                      "digest": row["digest"], "result": row["result"]} for row in rec.get("services") or []]
        lines += ["%s: %s" % (rec["host"], h) for h in rec.get("holds_released") or []]
    if status_url:
        lines.append("status: %s" % status_url)
    payload = {"events": found, "action": data["action"], "environment": data["environment"],
               "hosts": data["hosts"], "actor": data["actor"], "result": data["result"], "services": services,
               "status_url": status_url or None, "text": "\n".join(lines)}
    return "\n".join(lines), payload


def target_problems(targets):
    """What is wrong with ``aegee_notify`` (never naming a URL or token); [] when it is right."""
    if not isinstance(targets, list):
        return ["aegee_notify must be a list of targets ({type, url, ...})"]
    problems = []
    for n, t in enumerate(targets):
        name = "aegee_notify[%d]" % n
        if not isinstance(t, dict):
            problems.append("%s must be a mapping with a type" % name)
            continue
        if t.get("type") not in TYPES:
            problems.append("%s: type must be one of %s" % (name, ", ".join(TYPES)))
        needs = {"slack": ("token",), "mattermost": ("url", "token"), "matrix": ("url", "token", "room"),
                 "webhook": ("url",)}.get(t.get("type"), ())
        problems += ["%s: %s is required for type %s" % (name, k, t.get("type")) for k in needs if not t.get(k)]
        wrong = [e for e in t.get("events", DEFAULT_EVENTS) or [] if e not in EVENTS]
        if wrong or not isinstance(t.get("events", []), list):
            problems.append("%s: events must be a list of %s" % (name, ", ".join(EVENTS)))
    return problems


def wanted(target, found):
    """Whether ``target`` wants a message about a run with the events ``found``."""
    return bool(set(target.get("events") or DEFAULT_EVENTS) & set(found))
