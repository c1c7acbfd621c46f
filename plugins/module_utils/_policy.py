# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""The release's decisions, as functions over plain data.

Which targets may be deployed (bad versions, holds, ``force``), what a
rollback goes back to, which services need bringing up, and what a release
writes into the host's state and history. No process, no file, no clock: the
host state (``_state.empty_state()`` shape) and the history entries come in as
dicts and lists, the time as a string; new values and warnings come back, and
nothing given is changed. :class:`Refused` says why a release cannot go on.
"""

from __future__ import annotations

import copy

from ansible_collections.aegee.deploy.plugins.module_utils import _semver

GOOD_RESULTS = ("success", "unchanged")
EVIDENCE_KEEP = 8000


class Refused(Exception):
    """The release must not go on; the message says why and what to do."""


def image_of(svc, managed):
    """The image reference the tool pinned for ``svc`` in ``managed`` (``{"pins": {svc: {"value"}}}``), or None."""
    pin = (managed.get("pins") or {}).get(svc)
    return pin["value"] if pin else None


# ------------------------------------------------------------------ targets


def check_targets(targets, state, force=False, hold_bad=False):
    """``(targets, held, warnings)``: the targets that may be deployed, given the versions marked bad.

    A bad version is refused, deployed anyway with ``force`` (and a warning), or with ``hold_bad`` dropped
    from the targets and reported in ``held`` (the service keeps its current version).
    """
    targets = copy.deepcopy(targets)
    held, warnings = {}, []
    for svc in sorted(targets):
        version = targets[svc]["version"]
        if not _semver.is_version(version):
            raise Refused("%s: %r is not a semantic version" % (svc, version))
        bad = (state.get("bad") or {}).get(svc) or {}
        if version not in bad:
            continue
        info = bad[version]
        why = "rolled back %s by %s: %s" % (info.get("time"), info.get("by"), info.get("reason"))
        if force:
            warnings.append("%s %s is marked bad (%s); deploying it anyway because force is set" % (svc, version, why))
        elif hold_bad:
            held[svc] = {"version": version, "reason": why,
                         "keeps": ((state.get("current") or {}).get(svc) or {}).get("version")}
            warnings.append(
                "%s is held at %s: %s is marked bad on this host (%s); a newer version releases the hold"
                % (svc, held[svc]["keeps"] or "its current version", version, why)
            )
            del targets[svc]
        else:
            raise Refused(
                "%s %s is marked bad on this host (%s); deploy a newer version, or force it with -e force=true"
                % (svc, version, why)
            )
    return targets, held, warnings


def previous_version(history, svc, current, bad):
    """The version ``svc`` ran before ``current`` (newest first), skipping bad ones; None if there is none."""
    seen = []
    for entry in history:
        if entry.get("result") not in GOOD_RESULTS:
            continue
        info = (entry.get("services") or {}).get(svc) or {}
        version = info.get("to")
        if version and (not seen or seen[-1] != version):
            seen.append(version)
    for version in reversed(seen):
        if version != current and version not in bad:
            return version
    return None


def plan_rollback(targets, state, history, mark_bad=None, whole_release=False):
    """``(targets, mark_bad)`` of a rollback: ``previous`` resolved from ``history``, the versions left marked bad.

    A target without a digest gets the one verified on this host. With ``whole_release`` a service
    without an earlier good release is left out instead of refused.
    """
    targets = copy.deepcopy(targets)
    mark = dict(mark_bad or {})
    current_of = state.get("current") or {}
    for svc in sorted(targets):
        target = targets[svc]
        current = (current_of.get(svc) or {}).get("version")
        if target["version"] == "previous":
            prev = previous_version(history, svc, current, (state.get("bad") or {}).get(svc) or {})
            if prev is None:
                if whole_release:
                    del targets[svc]
                    continue
                raise Refused(
                    "%s: the history of this host has no earlier good release than %s to roll back to; name "
                    "the version with -e version=X.Y.Z" % (svc, current or "the current one")
                )
            target["version"] = prev
        if not target.get("digest"):
            verified = ((state.get("verified") or {}).get(svc) or {}).get(target["version"]) or {}
            target["digest"] = verified.get("digest")
        if current and current != target["version"] and svc not in mark:
            mark[svc] = current
    if not targets:
        raise Refused("nothing to roll back: the history of this host has no earlier good release")
    return targets, mark


# ------------------------------------------------------------------ services


def lock_services(targets):
    """The services named in a lock's ``targets`` ("core=1.5.0, events=1.5.0")."""
    return [part.split("=", 1)[0].strip() for part in (targets or "").split(",") if "=" in part]


def services_to_up(targets, containers, wanted, files_changed, recovered=None):
    """``(to_up, warnings)``: the target services to bring up, in order.

    A service comes up when it has no container (``containers``: ``ps`` entries by service), its container
    is not running or runs another image than ``wanted[svc]``, or its compose file changes
    (``files_changed``). After a broken lock (``recovered``: the dead run's lock) every target comes up
    again: nothing of that run counts as verified until it passes its checks.
    """
    to_up, warnings = [], []
    for svc in sorted(targets):
        c = containers.get(svc)
        want = wanted.get(svc)
        if c is None or c.get("State") != "running" or (want and c.get("Image") != want) or svc in files_changed:
            to_up.append(svc)
    if recovered:
        to_up += [svc for svc in sorted(targets) if svc not in to_up]
        others = sorted(set(lock_services(recovered.get("targets"))) - set(targets))
        if others:
            warnings.append("the interrupted run was also releasing %s: check them (status.yml) or deploy them again"
                            % ", ".join(others))
    return to_up, warnings


def one_each(quick):
    """``{svc: container}`` from ``quick`` (``Runtime.quick_ps``) when it shows some containers and no service with
    more than one; None at any doubt (the caller reads Compose's ``ps`` instead)."""
    if not quick:
        return None
    by_service = {}
    for c in quick:
        if c.get("Service") in by_service:
            return None  # two containers of a service (a switch left one?): Compose says which is which
        by_service[c.get("Service")] = c
    return by_service


START_FIRST, STOP_FIRST = "start-first", "stop-first"
SWITCH_MODES = (START_FIRST, STOP_FIRST)


def fixed_host_ports(service_config):
    """The host ports a service (its resolved compose config) publishes, as ``ip:port`` or ``port`` strings."""
    found = []
    for port in service_config.get("ports") or []:
        if isinstance(port, dict):
            if port.get("published"):
                found.append("%s:%s" % (port["host_ip"], port["published"]) if port.get("host_ip")
                             else str(port["published"]))
        elif ":" in str(port):
            found.append(str(port).rsplit(":", 1)[0])
    return found


def switch_modes(services, config_services, catalogue=None):
    """``({svc: {"mode", "reason"}}, warnings)``: how each service is switched, and why.

    Start-first (the new container beside the old one, then the old one drained) unless it cannot work:
    the service publishes a fixed host port, sets ``container_name``, or the catalogue (``catalogue[svc]
    ["switch"]``) marks it stop-first. A catalogue entry that asks for start-first on such a service is
    :class:`Refused`. A service without a healthcheck gets a warning: the proxy routes to it at once.
    """
    modes, warnings = {}, []
    for svc in services:
        cfg = config_services.get(svc) or {}
        asked = ((catalogue or {}).get(svc) or {}).get("switch")
        if asked is not None and asked not in SWITCH_MODES:
            raise Refused("%s: switch %r in the catalogue (aegee_services) is neither %s" % (
                svc, asked, " nor ".join(SWITCH_MODES)))
        blockers = []
        ports = fixed_host_ports(cfg)
        if ports:
            blockers.append("it publishes the fixed host port(s) %s" % ", ".join(ports))
        if cfg.get("container_name"):
            blockers.append("it sets container_name %s" % cfg["container_name"])
        if asked == STOP_FIRST:
            modes[svc] = {"mode": STOP_FIRST, "reason": "marked switch: stop-first in the catalogue"}
        elif blockers and asked == START_FIRST:
            raise Refused("%s: the catalogue asks for switch: start-first, but %s, so two containers of it "
                          "cannot run side by side; remove that from its compose file or drop the switch "
                          "setting. Nothing was changed" % (svc, " and ".join(blockers)))
        elif blockers:
            modes[svc] = {"mode": STOP_FIRST, "reason": "%s: requests fail while it restarts" % " and ".join(blockers)}
        else:
            modes[svc] = {"mode": START_FIRST, "reason": "the new container starts beside the old one"}
        hc = cfg.get("healthcheck") or {}
        if not hc or hc.get("disable") or hc.get("test") in (["NONE"], "NONE"):
            warnings.append("%s has no healthcheck: the proxy routes requests to its new container as soon as it "
                            "starts, before it is ready, and the old one cannot be drained" % svc)
    return modes, warnings


def service_port(service_config):
    """The port a service listens on inside its network: ``expose``, Traefik's server port label, or ``ports``."""
    for value in service_config.get("expose") or []:
        return int(str(value).split("/", maxsplit=1)[0].split("-", maxsplit=1)[0])
    labels = service_config.get("labels") or {}
    if isinstance(labels, list):
        labels = dict(label.split("=", 1) for label in labels if "=" in label)
    for key, value in sorted(labels.items()):
        if key.startswith("traefik.http.services.") and key.endswith(".loadbalancer.server.port"):
            return int(value)
    for port in service_config.get("ports") or []:
        if isinstance(port, dict) and port.get("target"):
            return int(port["target"])
    return 80


def running_versions(services, images, targets, new, old, from_versions):
    """service -> the version its container runs (``images``: ps image by service), as far as the pins tell."""
    out = {}
    for svc in services:
        if images.get(svc) and images[svc] == image_of(svc, new):
            out[svc] = targets[svc]["version"]
        elif images.get(svc) and images[svc] == image_of(svc, old):
            out[svc] = from_versions.get(svc) or "previous"
        else:
            out[svc] = None if svc not in images else "unknown (%s)" % images[svc]
    return out


def failure_message(services, failed, failure, restore_error=None, running=None, restored=False):
    """What a failed release says: what failed and why, and what runs now (``services``: the per-service report)."""
    info = {s: services.get(s) or {} for s in failed}
    what = ", ".join("%s %s -> %s" % (s, info[s].get("from") or "(none)", info[s].get("to")) for s in failed)
    msg = "deploy of %s failed: %s. " % (what, failure)
    if restore_error:
        msg += ("RESTORE FAILED: %s. Running now: %s. The host needs attention now: deploy a version that works "
                "(-e service=... -e version=...)." % (
                    restore_error, ", ".join("%s %s" % (s, running[s] or "nothing") for s in failed)))
    elif restored:
        msg += "The previous version was restored and is healthy."
    else:
        msg += "Nothing of it ran before this deploy; its new containers were removed."
    return msg


# ---------------------------------------------------------------- recording


def release_holds(bad, svc, version):
    """Deploying a version newer than a bad one releases the hold on it: changes ``bad``, returns the warnings."""
    warnings = []
    for bad_version in list(bad):
        if _semver.is_version(bad_version) and _semver.compare(version, bad_version) > 0:
            del bad[bad_version]
            warnings.append("%s %s released the hold on bad version %s" % (svc, version, bad_version))
    return warnings


def recorded_state(state, result, targets, managed, *, run_id, now, action="deploy", actor=None, reason=None,
                   mark_bad=None, sources=None):
    """``(state, warnings)``: the host state after a release that ended with ``result``.

    Only a good result (success, unchanged) changes it: the tool's edits become ``managed``, every target
    is current (with its compose ``source``, see :func:`history_entry`, when ``sources`` has it) and verified,
    the versions of ``mark_bad`` are bad and no longer verified, and a version newer than a bad one releases
    that hold (not on a rollback).
    """
    state = copy.deepcopy(state)
    if result not in GOOD_RESULTS:
        return state, []
    warnings = []
    state["managed"] = managed
    for svc, target in targets.items():
        state["current"][svc] = {"version": target["version"], "digest": target.get("digest"),
                                 "image": image_of(svc, managed), "time": now, "release": run_id}
        if (sources or {}).get(svc):
            state["current"][svc]["source"] = sources[svc]
        verified = state["verified"].setdefault(svc, {})
        verified[target["version"]] = {"digest": target.get("digest"), "time": now, "release": run_id}
        if action != "rollback":
            bad = state["bad"].get(svc) or {}
            warnings += release_holds(bad, svc, target["version"])
            if not bad:
                state["bad"].pop(svc, None)
    for svc, version in (mark_bad or {}).items():
        if version:
            state["bad"].setdefault(svc, {})[version] = {
                "time": now, "by": actor or "unknown", "reason": reason or "rolled back", "release": run_id,
            }
            state["verified"].get(svc, {}).pop(version, None)
    return state, warnings


def unrestored_state(state, services, targets, managed, *, run_id, now, actor=None):
    """The host state when the new ``services`` failed their checks and still run (the restore failed).

    The files say what runs, so ``managed`` is the new edits; each service is current at its new version,
    flagged failed, and that version is bad: no rerun takes it as verified, no routine deploy keeps it.
    """
    state = copy.deepcopy(state)
    state["managed"] = managed
    for svc in services:
        target = targets[svc]
        state["current"][svc] = {"version": target["version"], "digest": target.get("digest"),
                                 "image": image_of(svc, managed), "time": now, "release": run_id, "failed": True}
        state["bad"].setdefault(svc, {})[target["version"]] = {
            "time": now, "by": actor or "unknown", "release": run_id,
            "reason": "failed its checks and the previous version could not be restored"}
    return state


def history_entry(params, services, result, *, run_id, started, now, recreated, repo=None, failure=None,
                  evidence=None, restore_error=None, running=None, recovered_lock=None, scenarios=None):
    """The history line of a release: who, what (``services``: the release's per-service report), how it ended.

    A service's ``source`` (when the report has one) is where its compose definition came from:
    ``{"submodule": folder or None, "url", "commit", "blob"}`` (``_repo.compose_source``), so a later rollback
    can tell whether the definition changed since.
    """
    entry = {
        "id": run_id,
        "started": started,
        "time": now,
        "actor": params.get("actor") or "unknown",
        "controller": params.get("controller") or "",
        "action": params.get("action", "deploy"),
        "environment": params.get("environment") or "",
        "services": {svc: dict({k: info.get(k) for k in ("from", "to", "digest", "image", "changed")},
                               **({"source": info["source"]} if info.get("source") else {}))
                     for svc, info in services.items()},
        "recreated": recreated,
        "result": result,
        "repo": {k: (repo or {}).get(k) for k in ("before", "after")},
    }
    if failure:
        entry["failure"] = failure
    if evidence:
        entry["evidence"] = evidence[-EVIDENCE_KEEP:]
    if restore_error:
        entry["restore_error"] = restore_error
    if running is not None:
        entry["running"] = running
    if recovered_lock:
        entry["recovered_lock"] = recovered_lock
    if scenarios:
        entry["scenarios"] = scenario_summary(scenarios)
    if params.get("reason"):
        entry["reason"] = params["reason"]
    return entry


def scenario_summary(report):
    """What the history keeps of a run of the browser scenarios: the verdict, what ran, where the evidence is."""
    return {"result": report.get("result"), "markers": report.get("markers"), "evidence": report.get("evidence"),
            "ran": report.get("ran") or [], "failed": report.get("failed") or [], "flaky": report.get("flaky") or [],
            "seconds": report.get("seconds")}


# ------------------------------------------------------------------ rollback


def release_source(history, svc, version):
    """The compose source recorded by the newest good release that brought ``svc`` to ``version``, or None."""
    for entry in reversed(history or []):
        info = (entry.get("services") or {}).get(svc) or {}
        if entry.get("result") in GOOD_RESULTS and info.get("to") == version and info.get("source"):
            return info["source"]
    return None


def _where(source):
    folder = source.get("submodule")
    commit = (source.get("commit") or "?")[:12]
    return "submodule %s at %s" % (folder, commit) if folder else "deploy repo at %s" % commit


def definition_note(svc, version, then, now):
    """``(note, changed)``: whether the compose definition of ``svc`` changed since ``version`` was released.

    ``then``: the source recorded with that release (:func:`release_source`), ``now``: the current one; each
    ``{"submodule", "commit", "blob", ...}`` or None. ``changed`` is True, False, or None when unknown. A rollback
    pins the image only: the compose definition stays the current one.
    """
    if not now or not now.get("blob"):
        return ("%s: the current compose file is not committed, so whether it changed since %s was released is "
                "unknown; the image is rolled back, the compose definition is the current one" % (svc, version), None)
    if not then or not then.get("blob"):
        return ("%s: the compose definition %s was released with is not recorded; the image is rolled back, the "
                "compose definition is the current one (%s)" % (svc, version, _where(now)), None)
    if then["blob"] == now["blob"]:
        return ("%s: the compose definition is the one %s was released with (%s)" % (svc, version, _where(now)),
                False)
    return ("%s: the compose definition changed since %s was released (%s then, %s now): the image is rolled "
            "back, the compose definition stays the current one" % (svc, version, _where(then), _where(now)), True)
