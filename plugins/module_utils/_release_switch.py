# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""The release's side of the switch: which mode each service gets, what the run says about it.

The decision is ``_policy.switch_modes``; the switch itself is the runtime's
(``_runtime.Runtime.switch``). Here: the modes go into the release's result
(``services.<svc>.switch``) and its warnings (every stop-first switch, every
service without a healthcheck), the runtime's report of each switch joins
them, and what a switch waits for goes into the release's lock. Before any switch, the project's shared
pieces are in place (``prepare_project``): its external networks, and its enabled services outside the
catalogue that do not run (the gateway the checks go through), started as ``make start`` would.
"""

from __future__ import annotations

from ansible_collections.aegee.deploy.plugins.module_utils import _policy
from ansible_collections.aegee.deploy.plugins.module_utils._runtime import RuntimeFailure
from ansible_collections.aegee.deploy.plugins.module_utils._state import StateError, now_iso


def decide(params, result, warnings, config, services):
    """``{svc: {"mode", "reason"}}`` of ``services``, into ``result`` and ``warnings``; ``_policy.Refused`` raises."""
    modes, found = _policy.switch_modes(services, config.get("services") or {}, params.get("catalogue"))
    warnings.extend(found)
    for svc, mode in modes.items():
        result["services"][svc]["switch"] = dict(mode)
        if mode["mode"] == _policy.STOP_FIRST:
            warnings.append("%s switches stop-first (%s)" % (svc, mode["reason"]))
    return modes


def report(result, runtime, services):
    """What the runtime's switch did per service (seconds to healthy, drain, total), into ``result``."""
    for svc in services:
        result["services"][svc].setdefault("switch", {}).update(runtime.report.get(svc) or {})


def lock_progress(state, run_id):
    """``progress(text)`` for the runtime: what the switch waits for now, into the lock ``run_id`` holds."""

    def progress(text):
        try:
            state.annotate_lock(run_id, waiting="%s (since %s)" % (text, now_iso()))
        except (StateError, OSError):
            pass  # the lock is only a window on the run: a failure to write it stops nothing

    return progress


def shared_services(config, catalogue, targets, containers):
    """Services of ``config`` outside ``catalogue`` and ``targets`` whose container does not run (sorted)."""
    running = {c.get("Service") for c in containers if c.get("State") == "running"}
    return sorted(s for s in (config.get("services") or {})
                  if s not in catalogue and s not in targets and s not in running)


def prepare_project(runtime, config, params, to_up, result, containers):
    """Everything a switch of ``to_up`` needs, in place before it; RuntimeFailure if a piece cannot be.

    The external networks the project declares, a registry login when a user is given, the images of
    ``to_up``, and the project's enabled services outside the catalogue that do not run (the gateway the
    checks go through; ``containers``: the project's, as the release listed them), started as ``make start``
    would. Without a catalogue the release cannot tell those shared pieces from the rest, and starts none.
    """
    created = runtime.ensure_networks(config)
    if created:
        result.setdefault("networks_created", []).extend(created)
    reg = params.get("registry_login") or {}
    if reg.get("username"):
        runtime.login(reg["registry"], reg["username"], reg.get("password") or "")
    runtime.progress("pulling the images of %s" % ", ".join(to_up))
    result["pulled"] = runtime.pull(to_up, config)
    catalogue = params.get("catalogue")
    missing = shared_services(config, catalogue, params.get("targets") or (), containers) if catalogue else []
    if missing:
        runtime.progress("starting %s (not running; the checks go through it)" % ", ".join(missing))
        problem = runtime.start(missing, runtime.health_timeout(config, missing))
        if problem is not None:
            raise RuntimeFailure("cannot start %s, which the project needs: %s" % (", ".join(missing), problem))
        result["shared_started"] = missing
