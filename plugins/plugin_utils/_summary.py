# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""What a release run tells its operator: one record per host, the summary lines, the next command.

``record`` turns one host's ``compose_release`` result (registered as
``__release_result`` by ``roles/_release``) into a small, plain record; the
roles hand it to ``set_stats`` (the play's stats carry it) and the callback
``aegee.deploy.release_summary`` prints ``lines`` of all records after the
recap and writes them as JSON for CI. Notifications and hooks read the same
records.
"""

from __future__ import annotations

import re
import shlex

# results of a release on a host (the history's, plus what the controller sees)
GOOD = ("success", "unchanged")
HOLD_RELEASED = "released the hold on bad version"  # _policy.release_holds' warning
UNHEALTHY = "did not become healthy"  # _release's failure when the switch failed


def short_digest(image_or_digest):
    """``sha256:3b1c9d2e`` (12 characters of the hash) of a digest or an image reference pinned by digest."""
    if not image_or_digest or "sha256:" not in str(image_or_digest):
        return None
    return "sha256:" + str(image_or_digest).split("sha256:", 1)[1][:12]


def _checks_passed(info, extra, healthy):
    passed = ["health"] if healthy else []
    for key, name in (("smoke", "version"), ("browser", "browser")):
        if info.get(key) == "ok":
            passed.append(name)
    return passed + ["extra:%s" % e.get("name") for e in extra if e.get("result") == "ok"]


def _failed_check(info, extra, unhealthy):
    if unhealthy:
        return "health"
    for key, name in (("smoke", "version"), ("browser", "browser")):
        if info.get(key) not in (None, "ok"):
            return "%s: %s" % (name, info[key])
    for e in extra:
        if e.get("result") not in (None, "ok"):
            return "extra:%s: %s" % (e.get("name"), e["result"])
    return None


def _healthy_after(switch):
    """Seconds until the new container was healthy: start-first measures it, stop-first's ``up --wait`` is it."""
    if switch.get("healthy_after") is not None:
        return switch["healthy_after"]
    return switch.get("total") if switch.get("mode") == "stop-first" else None


def _outcome(result, check):
    """success, unchanged, would-change / would-keep (check mode), failed-restored, failed-restore-failed,
    failed-unchanged, locked or failed."""
    if result.get("failed"):
        if result.get("lock"):
            return "locked"
        return result.get("result") or (result.get("release") or {}).get("result") or "failed"
    if check:
        return "would-change" if result.get("changed") else "would-keep"
    return (result.get("release") or {}).get("result") or ("success" if result.get("changed") else "unchanged")


def record(result, host, action="deploy", environment="", actor="", check=False, root="", state_dir=".aegee"):
    """The plain record of one host's release (``result``: the ``compose_release`` result, failed or not)."""
    result = result or {}
    outcome = _outcome(result, check)
    extra = result.get("extra_checks") or []
    unhealthy = UNHEALTHY in str(result.get("msg") or "") if result.get("failed") else False
    services = []
    for name, info in sorted((result.get("services") or {}).items()):
        switch = info.get("switch") or {}
        row = {
            "service": name, "from": info.get("from"), "to": info.get("to"),
            "from_digest": short_digest(info.get("container_image")), "digest": short_digest(info.get("digest")),
            "changed": bool(info.get("changed")), "mode": switch.get("mode"),
            "healthy_after": None if unhealthy else _healthy_after(switch), "total": switch.get("total"),
        }
        row["checks"] = _checks_passed(info, extra, row["healthy_after"] is not None) if row["changed"] else []
        failed_check = _failed_check(info, extra, unhealthy and bool(switch)) if row["changed"] else None
        if failed_check:
            row["failed_check"] = failed_check
        row["result"] = _service_result(outcome, row)
        services.append(row)
    rec = {"host": host, "action": action, "environment": environment, "actor": actor, "check": bool(check),
           "result": outcome, "services": services}
    release = result.get("release") or {}
    if result.get("failed"):
        rec["failure"] = str(result.get("msg") or "").split("\n", 1)[0]
        rec["restore_error"] = release.get("restore_error")
        rec["running"] = release.get("running")
        if result.get("lock"):
            rec["lock"] = {k: result["lock"].get(k) for k in ("owner", "controller", "time", "targets", "action")}
    if release.get("id"):
        rec["release_id"] = release["id"]
    evidence = result.get("evidence_path") or result.get("evidence")
    if isinstance(evidence, str) and evidence.startswith("/") and "\n" not in evidence:
        rec["evidence"] = "%s:%s" % (host, evidence)
    elif evidence and root:
        rec["evidence"] = "%s:%s/%s/history.jsonl (release %s)" % (host, root.rstrip("/"), state_dir,
                                                                   release.get("id") or "?")
    rec["holds_released"] = [w for w in result.get("warnings") or [] if HOLD_RELEASED in str(w)]
    return rec


def _service_result(outcome, row):
    if outcome.startswith("would-"):
        return "would switch" if row["changed"] else "unchanged"
    if not row["changed"]:
        return "unchanged"
    return {"success": "switched", "unchanged": "switched", "failed-restored": "FAILED, restored",
            "failed-restore-failed": "FAILED, RESTORE FAILED", "failed-unchanged": "FAILED, nothing changed"}.get(
        outcome, "FAILED")


# ------------------------------------------------------------------ the command lines

# ansible-playbook options that take a value, and those of them the next command keeps (where and as whom)
VALUE_OPTIONS = {"-i", "--inventory", "--inventory-file", "-l", "--limit", "-e", "--extra-vars", "-u", "--user",
                 "-f", "--forks", "-t", "--tags", "--skip-tags", "-c", "--connection", "--vault-id",
                 "--vault-password-file", "--vault-pass-file", "--private-key", "--key-file", "-T", "--timeout",
                 "-M", "--module-path", "--start-at-task", "--become-user", "--become-method", "--ssh-common-args",
                 "--ssh-extra-args", "--scp-extra-args", "--sftp-extra-args"}
KEEP = {"-i", "--inventory", "--inventory-file", "-u", "--user", "--vault-id", "--vault-password-file",
        "--vault-pass-file", "--private-key", "--key-file", "-c", "--connection"}
KEEP_FLAGS = {"--ask-vault-pass", "--ask-vault-password", "-J", "-k", "--ask-pass", "-K", "--ask-become-pass", "-b",
              "--become"}


def _parse(argv):
    """``(playbook, kept options, every option)`` of an ansible-playbook command line (without argv[0])."""
    playbook, kept, options, i = None, [], [], 0
    while i < len(argv):
        arg = argv[i]
        name = arg.split("=", 1)[0] if arg.startswith("--") else arg
        if name in VALUE_OPTIONS and "=" not in arg and i + 1 < len(argv):
            pair = [arg, argv[i + 1]]
            i += 2
        else:
            pair = [arg]
            i += 1
        if not arg.startswith("-") and playbook is None:
            playbook = arg
            continue
        options.append(pair)
        value = pair[-1] if len(pair) == 2 else arg.split("=", 1)[-1]
        if name in KEEP or name in KEEP_FLAGS or (name in ("-e", "--extra-vars") and value.startswith("@")):
            kept.append(pair)
    return playbook or "playbooks/deploy.yml", kept, options


# -e names whose values are secrets: never written back into a command line the summary prints
SECRET_NAME = re.compile(r"pass|secret|token|credential|private|key", re.I)
HIDDEN = "<hidden>"


def _redacted(value):
    """An ``-e`` value with the values of secret-looking names hidden (``key=value`` words); a YAML/JSON value
    that names one is hidden whole. ``@file`` values are paths and stay."""
    if value.startswith("@"):
        return value
    if value.lstrip().startswith(("{", "[")):
        return HIDDEN if SECRET_NAME.search(value) else value
    try:
        words = shlex.split(value)
    except ValueError:
        return HIDDEN if SECRET_NAME.search(value) else value
    out = []
    for word in words:
        name, sep, _val = word.partition("=")
        out.append("%s=%s" % (name, HIDDEN) if sep and SECRET_NAME.search(name) else word)
    return " ".join(out)


def _shown(pair):
    """An option as the summary may print it: ``-e`` values redacted (``_redacted``)."""
    arg = pair[0]
    if len(pair) == 2:
        return [arg, _redacted(pair[1])] if arg in ("-e", "--extra-vars") else pair
    if arg.startswith("--extra-vars="):
        return ["--extra-vars=" + _redacted(arg.split("=", 1)[1])]
    if arg.startswith("-e") and not arg.startswith("--") and len(arg) > 2:  # -eNAME=VALUE
        return ["-e" + _redacted(arg[2:])]
    return pair


def _sibling(playbook, name):
    folder = playbook.rsplit("/", 1)[0] + "/" if "/" in playbook else ""
    return folder + name


def command(argv, playbook=None, limit=None, extra=(), keep_all=False):
    """``ansible-playbook ...``: ``argv`` again (``keep_all``), or its playbook's sibling ``playbook`` with the
    options that say where and as whom (inventory, vault, user, ``-e @file``), ``limit`` and ``extra`` -e values."""
    given, kept, options = _parse(list(argv))
    words = ["ansible-playbook", _sibling(given, playbook) if playbook else given]
    for pair in options if keep_all else kept:
        if keep_all and limit and pair[0].split("=", 1)[0] in ("-l", "--limit"):
            continue
        words += _shown(pair)
    if limit:
        words += ["-l", limit]
    for value in extra:
        words += ["-e", value]
    return " ".join(shlex.quote(w) for w in words)


def next_step(rec, argv):
    """The one thing to do next after ``rec`` (a host's record), with the exact command line; None when fine."""
    host, outcome = rec["host"], rec["result"]
    failed = [s["service"] for s in rec.get("services") or [] if s["changed"]] or None
    if outcome in GOOD or outcome.startswith("would-"):
        return None
    if outcome == "locked":
        return ("wait for the other run and rerun with a wait: %s; or, if that run is gone: %s"
                % (command(argv, keep_all=True, extra=["lock_wait=300"]),
                   command(argv, keep_all=True, limit=host, extra=["break_lock=true"])))
    if outcome == "failed-restore-failed":
        if rec["action"] == "rollback":
            return "deploy a version that works: %s" % command(
                argv, "deploy.yml", limit=host,
                extra=["service=%s" % ",".join(failed or []), "version=<a version that works>"])
        return "roll back now: %s" % command(argv, "rollback.yml", limit=host,
                                             extra=["services=%s" % ",".join(failed or [])] if failed else [])
    if outcome == "failed-restored":
        return "the previous version runs; fix what failed (see the evidence), then rerun: %s" % command(
            argv, keep_all=True)
    return "fix the cause above, then rerun: %s" % command(argv, keep_all=True)


# ------------------------------------------------------------------ the lines


def _version(version, digest):
    return "%s (%s)" % (version or "(none)", digest) if digest else (version or "(none)")


def service_line(rec, row, width=(0, 0)):
    """One line: host, service, from -> to, switch mode, time to healthy, checks passed, result."""
    parts = ["%-*s  %-*s" % (width[0], rec["host"], width[1], row["service"])]
    if row["changed"] or row["from"] != row["to"]:
        parts.append("%s -> %s" % (_version(row["from"], row["from_digest"]), _version(row["to"], row["digest"])))
    else:
        parts.append(_version(row["to"], row["digest"]))
    if row.get("mode"):
        parts.append(row["mode"])
    if row.get("healthy_after") is not None:
        parts.append("healthy after %s s" % row["healthy_after"])
    if row.get("checks"):
        parts.append("checks: " + ", ".join(row["checks"]))
    parts.append(row["result"])
    return "  ".join(parts)


def host_lines(rec, argv, width=(0, 0)):
    """The service lines of a host, then on failure: what failed, what was restored, the evidence, the next step."""
    out = [service_line(rec, row, width) for row in rec.get("services") or []]
    if rec["result"] in GOOD or rec["result"].startswith("would-"):
        return out or ["%s  nothing to release" % rec["host"]]
    if rec["result"] == "locked":
        lock = rec.get("lock") or {}
        out.append("%s  LOCKED by %s from %s since %s (%s)" % (
            rec["host"], lock.get("owner"), lock.get("controller"), lock.get("time"), lock.get("targets")))
    else:
        out.append("%s  FAILED: %s" % (rec["host"], rec.get("failure") or rec["result"]))
    for row in rec.get("services") or []:
        if row.get("failed_check"):
            out.append("  failed check: %s %s" % (row["service"], row["failed_check"]))
    changed = [s for s in rec.get("services") or [] if s["changed"]]
    if rec["result"] == "failed-restored" and changed:
        out.append("  restored: %s, healthy again" % ", ".join(
            "%s %s" % (s["service"], s["from"] or "(nothing: its new containers were removed)") for s in changed))
    elif rec["result"] == "failed-restore-failed":
        running = rec.get("running") or {}
        out.append("  RESTORE FAILED: %s; running now: %s" % (rec.get("restore_error"), ", ".join(
            "%s %s" % (s, running.get(s) or "nothing") for s in sorted(running)) or "unknown"))
    if rec.get("evidence"):
        out.append("  evidence: %s" % rec["evidence"])
    step = next_step(rec, argv)
    if step:
        out.append("  next: %s" % step)
    return out


def title(records):
    first = records[0]
    actions = sorted({r["action"] for r in records})
    envs = sorted({r["environment"] for r in records if r.get("environment")})
    text = "RELEASE SUMMARY: %s of %s by %s" % ("/".join(actions), ", ".join(envs) or "?", first.get("actor") or "?")
    if any(r.get("check") for r in records):
        text += " (check mode: nothing was changed)"
    return text


def overall(records, stopped=()):
    """success, unchanged, failed (a host failed or a run stopped before its release) or check."""
    if stopped or any(r["result"] not in GOOD and not r["result"].startswith("would-") for r in records):
        return "failed"
    if records and all(r.get("check") for r in records):
        return "check"
    return "success" if any(r["result"] == "success" for r in records) else "unchanged"


def lines(records, argv, untouched=(), stopped=()):
    """Every line of the summary: ``records`` (one per host), the hosts the rollout never reached, and
    ``stopped`` ({host, task, msg}: failures outside the release, such as the plan's refusal)."""
    out = []
    if records:
        out.append(title(records))
    elif stopped:
        out.append("RELEASE SUMMARY: nothing was released")
    width = (max([len(r["host"]) for r in records] or [0]),
             max([len(s["service"]) for r in records for s in r.get("services") or []] or [0]))
    for rec in records:
        out += host_lines(rec, argv, width)
    for stop in stopped:
        out.append("%s  STOPPED at %r: %s" % (stop["host"], stop["task"], stop["msg"].split("\n", 1)[0]))
        own = [line[line.index("ansible-playbook "):] for line in stop["msg"].splitlines()
               if "ansible-playbook " in line]
        rerun = "fix the cause above, then rerun: %s" % command(argv, keep_all=True)
        out.append("  next: %s" % (own[0] if own else rerun))
    if untouched:
        out.append("not touched (the rollout stopped first): %s" % ", ".join(untouched))
    if out:
        out.append("result: %s" % overall(records, stopped).upper())
    return out
