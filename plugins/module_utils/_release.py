# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""One release on one host, as a transaction.

Order: lock -> update the deploy repo (own edits set aside and re-applied)
-> pin the target services (tag and digest) -> validate the project -> pull
the new images while everything still runs -> switch only the services that
change and wait for their health -> checks (``/healthcheck`` version, browser,
extra checks) -> record the release, mark it verified, unlock. Any failure
after the first write restores the previous pins and containers, records the
failed release with its evidence and raises.

Rooms: the decisions are in ``_policy``, the files in ``_release_files``, the
containers behind ``_runtime`` (picked in ``_runtimes``), the checks in
``_checks``.
"""

from __future__ import annotations

import copy
import os
import uuid

from ansible_collections.aegee.deploy.plugins.module_utils import _checks, _dotenv, _policy, _repo
from ansible_collections.aegee.deploy.plugins.module_utils import _release_files as files
from ansible_collections.aegee.deploy.plugins.module_utils import _release_switch as switching
from ansible_collections.aegee.deploy.plugins.module_utils._command import timed
from ansible_collections.aegee.deploy.plugins.module_utils._compose_cli import project_files
from ansible_collections.aegee.deploy.plugins.module_utils._fileio import FileWriteError
from ansible_collections.aegee.deploy.plugins.module_utils._git import remembered
from ansible_collections.aegee.deploy.plugins.module_utils._runtime import RuntimeFailure
from ansible_collections.aegee.deploy.plugins.module_utils._runtimes import get_runtime
from ansible_collections.aegee.deploy.plugins.module_utils._state import HostState, StateError, now_iso

STATE_DIR_NAME = ".aegee"
RESTORE_TIMEOUT = 120


class ReleaseError(Exception):
    def __init__(self, msg, **details):
        super().__init__(msg)
        self.details = details


class Release:
    """Deploy (or roll back) ``targets`` on the host at ``root``, on the runtime class ``runtime``."""

    def __init__(self, params, run, http_get, check_mode=False, runtime=None):
        self.p = params
        self.timings = []
        self.run = timed(run, self.timings)
        self.http_get = http_get
        self.check_mode = check_mode
        self.runtime_class = runtime or get_runtime(params.get("runtime"))
        self.runtime = None
        self.modes = {}
        self.root = params["root"].rstrip("/") or "/"
        self.state = HostState(os.path.join(self.root, params.get("state_dir") or STATE_DIR_NAME))
        self.result = {"changed": False, "services": {}, "diff": [], "warnings": self.state.warnings,
                       "timings": self.timings}
        self.run_id = params["run_id"] = params.get("run_id") or uuid.uuid4().hex[:12]
        self.lock = None
        self.containers = []

    def execute(self):
        p = self.p
        if not _repo.is_checkout(self.root):
            if self.check_mode:
                self.result.update(changed=True, msg="would clone %s into %s" % (p["repo_url"], self.root))
                self.result["diff"].append({"before": "", "after": "clone of %s (%s)\n" % (p["repo_url"], p["branch"]),
                                            "before_header": self.root, "after_header": self.root})
                return self.result
            cloned = _repo.clone(self.root, p["repo_url"], p["branch"], self.run, **self._submodule_options())
            self.result.update(cloned=True, changed=True, submodules=cloned["submodules"])
        if self.check_mode:
            held = self.state.read_lock()
            if held:
                self.state.warnings.append("the host is locked by " + HostState.describe_lock(held))
            with remembered():  # the same git questions are asked many times: each is asked once
                return self._transaction()
        targets = ", ".join("%s=%s" % (s, t["version"]) for s, t in sorted(p["targets"].items()))
        self.lock = self.state.acquire(
            {"id": self.run_id, "owner": p.get("actor") or "unknown", "controller": p.get("controller") or "",
             "pid": p.get("controller_pid"), "action": p.get("action", "deploy"), "targets": targets},
            ttl=p.get("lock_ttl", 900), wait=p.get("lock_wait", 0), break_stale=p.get("break_stale_lock", False))
        self.result["lock_id"] = self.run_id
        if self.state.broken:
            gone = self.state.broken
            self.result["recovered_lock"] = {k: gone.get(k) for k in ("id", "owner", "controller", "time", "targets")}
        ok = False
        try:
            _repo.exclude_state_dir(self.root, os.path.basename(self.state.dir))
            with remembered():
                self._transaction()
            ok = True
        finally:
            if not (ok and p.get("keep_lock")):
                self.state.release(self.run_id)
        return self.result

    # ---------------------------------------------------------- transaction
    def _transaction(self):
        state = self.state.read_state()
        old = copy.deepcopy(state["managed"])
        self._check_inputs(state)
        git = _repo.Git(self.root, self.run)
        self._update_repo(old)
        new, changed_files = self._pin(git, old)
        # a file the update set aside and the pins make again as it was is no change to its services
        to_up, containers = self._plan_services(
            state, new, [f for f in changed_files if self.live_texts.get(f, self.new_texts[f]) != self.new_texts[f]])
        self._sources(git, new)
        if changed_files or to_up:
            self.result["changed"] = True
        if self.check_mode:
            if to_up:
                self._switch_modes(None, to_up)
            return self.result
        if not changed_files and not to_up:
            self._record(state, old, "unchanged", [])
            return self.result
        previously_running = {s for s in to_up if s in containers}
        if self.lock:  # what the release waits for, into its lock (the controller shows it while it waits)
            self.runtime.progress = switching.lock_progress(self.state, self.run_id)
        config = self._prepare(state, old, new, changed_files, to_up)
        failure = None
        try:
            if to_up:
                problem = self.runtime.switch(to_up, self.runtime.health_timeout(config, to_up), self.modes,
                                              _checks.container_probe(self.p, config, self.http_get))
                switching.report(self.result, self.runtime, to_up)
                if problem is not None:
                    failure = "the new containers did not become healthy: %s" % problem
                else:
                    failure = self._smoke(to_up)
        except RuntimeFailure as exc:
            failure = str(exc)
        if failure:
            evidence = self.runtime.evidence(to_up)
            self._restore(state, old, new, changed_files, to_up, previously_running, failure, evidence)
        self._record(state, new, "success", to_up)
        return self.result

    def _switch_modes(self, config, to_up):
        """How each service is switched (``_release_switch.decide``); ``config`` None: read it (check mode)."""
        try:
            config = self.runtime.config() if config is None else config
            decided = switching.decide(self.p, self.result, self.state.warnings, config, to_up)
            self.modes = {svc: mode["mode"] for svc, mode in decided.items()}  # what the runtime's switch takes
        except RuntimeFailure as exc:  # check mode: the project as it is now cannot be read
            self.state.warnings.append("cannot tell how the services would be switched: %s" % exc)
        except _policy.Refused as exc:
            raise ReleaseError(str(exc)) from None

    def _smoke(self, services):
        """None if every check of the release passes (``_checks``: /healthcheck, browser, extra), else the reason."""
        if self.runtime is not None:  # what the release waits for now, into its lock
            self.runtime.progress("running the checks of %s" % ", ".join(services))
        return _checks.run_release(self.p, services, self.result, self.http_get, self.run, self.state.dir)

    def _check_inputs(self, state):
        """Resolve a rollback's versions, then apply the bad-version policy (hold, force, refuse)."""
        p = self.p
        try:
            if p.get("action") == "rollback":
                p["targets"], p["mark_bad"] = _policy.plan_rollback(
                    p["targets"], state, self.state.read_history(), p.get("mark_bad"), p.get("whole_release"))
            p["targets"], self.result["held"], warnings = _policy.check_targets(
                p["targets"], state, p.get("force"), p.get("hold_bad"))
        except _policy.Refused as exc:
            raise ReleaseError(str(exc)) from None
        self.state.warnings.extend(warnings)

    def _update_repo(self, old):
        self.live_texts = {path: files.read(self.root, path)  # what the runtime reads now, before the update
                           for path in {files.ENV_FILE} | {pin["file"] for pin in (old.get("pins") or {}).values()}}
        # a release that died after writing its pins left them in the files: they are the tool's too
        pending = (self.state.broken or {}).get("pending")

        def ours(path, text):
            return [files.render(path, text, old)] + ([files.render(path, text, pending)] if isinstance(pending, dict)
                                                      else [])

        upd = _repo.update(self.root, self.p["branch"], ours, self.run, check_mode=self.check_mode,
                           **self._submodule_options())
        self.result["repo"] = upd
        cloned = self.result.get("submodules") or {}
        subs = {f: dict(r, changed=r["changed"] or (cloned.get(f) or {}).get("changed", False))
                for f, r in (upd.get("submodules") or {}).items()}
        self.result["submodules"] = subs
        # in check mode nothing is fetched: a submodule that would move is a change all the same
        if upd.get("pulled") or (self.check_mode and (upd.get("behind") or any(r["changed"] for r in subs.values()))):
            self.result["changed"] = True

    def _submodule_options(self):
        """The enabled service folders (read from the commit checked out) and the service repo branches followed."""
        env = {k: str(v) for k, v in (self.p.get("env") or {}).items()}
        return {"services": files.enabled_folders(env, self.p.get("files")),
                "follow": self.p.get("follow_branches") or None}

    def _pin(self, git, old):
        """The tool's new edits and the files they change (their diffs go into the result)."""
        p = self.p
        env = {k: str(v) for k, v in (p.get("env") or {}).items()}
        env_text = git.show_head(files.ENV_FILE) or files.read(self.root, files.ENV_FILE) or ""
        env_values = _dotenv.parse(files.render(files.ENV_FILE, env_text, {"env": env}))
        names = project_files(self.root, env_values, files=p.get("files"))
        self.runtime = self.runtime_class(self.root, names, self.run, project=env_values.get("COMPOSE_PROJECT_NAME"))
        where = files.locate_services(self.root, names)
        unknown = sorted(set(p["targets"]) - set(where))
        if unknown:
            raise ReleaseError(
                "unknown service(s) %s: the deploy repo's enabled services define %s (ENABLED_SERVICES=%s)"
                % (", ".join(unknown), ", ".join(sorted(where)), env_values.get("ENABLED_SERVICES", "")))
        new = files.pin_targets(git, self.root, where, p["targets"], env, old.get("pins"))
        current, self.old_texts, self.new_texts = files.texts(git, self.root, old, new)
        changed = [path for path in sorted(current) if current[path] != self.new_texts[path]]
        for path in changed:
            self.result["diff"].append({"before_header": path, "after_header": path,
                                        "before": current[path] or "", "after": self.new_texts[path] or ""})
        return new, changed

    def _plan_services(self, state, new, changed_files):
        """The services to bring up, and the containers running now (by service)."""
        p = self.p
        wanted = {svc: _policy.image_of(svc, new) for svc in p["targets"]}
        try:  # the containers as the runtime lists them quickly (quick_ps), else at any doubt its full ps
            found = self.runtime.quick_ps()
            containers = _policy.one_each(found)
            if containers is None:
                found = self.runtime.ps()
                containers = {c.get("Service"): c for c in found}
            self.containers = found  # what prepare_project looks at: nothing starts or stops before it
        except RuntimeFailure as exc:
            raise ReleaseError("%s; nothing was changed" % (self.runtime.diagnose() or exc)) from None
        to_up, warnings = _policy.services_to_up(
            p["targets"], containers, wanted, {s for s, pin in new["pins"].items() if pin["file"] in changed_files},
            recovered=None if self.check_mode else self.result.get("recovered_lock"))
        self.state.warnings.extend(warnings)
        for svc in sorted(p["targets"]):
            c = containers.get(svc)
            self.result["services"][svc] = {
                "from": (state["current"].get(svc) or {}).get("version"), "to": p["targets"][svc]["version"],
                "digest": p["targets"][svc].get("digest"), "image": wanted[svc],
                "container_image": c.get("Image") if c else None, "changed": svc in to_up}
        self.result["recreate"] = to_up
        return to_up, containers

    def _sources(self, git, new):
        """Each target's compose source (``_repo.compose_source``); a rollback says whether it changed since."""
        history = self.state.read_history() if self.p.get("action") == "rollback" else None
        notes = []
        for svc, info in sorted(self.result["services"].items()):
            info["source"] = _repo.compose_source(git, new["pins"][svc]["file"])
            if history is not None:
                note, info["definition_changed"] = _policy.definition_note(
                    svc, info["to"], _policy.release_source(history, svc, info["to"]), info["source"])
                notes.append(note)
                if info["definition_changed"]:
                    self.state.warnings.append(note)
        if notes:
            self.result["msg"] = "; ".join(notes)

    def _prepare(self, state, old, new, changed_files, to_up):
        """Write the files, validate the project, pull; on failure the files go back and nothing ran."""
        try:
            if self.lock and changed_files:
                # if this run dies while the files say `new`, the run that breaks its lock knows these edits
                self.state.annotate_lock(self.run_id, pending=new)
            files.write(self.root, self.new_texts, changed_files)
            config = self.runtime.config()
            if to_up:
                self._switch_modes(config, to_up)
                switching.prepare_project(self.runtime, config, self.p, to_up, self.result, self.containers)
            return config
        except (RuntimeFailure, FileWriteError, StateError, OSError, ReleaseError) as exc:
            files.write(self.root, self.old_texts, changed_files, quiet=True)
            msg = ("deploy stopped before touching any running container: %s. The compose files are as they were."
                   % exc)
            self._record(state, old, "failed-unchanged", [], failure=msg)
            raise ReleaseError(msg) from None

    def _restore(self, state, old, new, changed_files, to_up, previously_running, failure, evidence):
        targets, restore_error, running = self.p["targets"], None, None
        try:
            files.write(self.root, self.old_texts, changed_files)
            gone = sorted(set(to_up) - previously_running)
            if gone:
                self.runtime.remove(gone)
            problem = (self.runtime.restore(sorted(previously_running), RESTORE_TIMEOUT, self.modes)
                       if previously_running else None)
            if problem is not None:
                restore_error = "restoring the previous version failed too: %s" % problem
        except (RuntimeFailure, FileWriteError, OSError) as exc:
            restore_error = "restoring the previous version failed too: %s" % exc
        if restore_error:
            try:
                images = {c.get("Service"): c.get("Image") for c in self.runtime.ps()}
            except RuntimeFailure:
                images = {}
            was = {s: self.result["services"][s].get("from") for s in to_up}
            running = _policy.running_versions(to_up, images, targets, new, old, was)
            if all(running[s] == targets[s]["version"] for s in to_up):
                # nothing was restored: the new containers still run, so the files say so too (a `make start`
                # on the host keeps what runs) and the tool's record of its own edits follows them
                files.write(self.root, self.new_texts, changed_files, quiet=True)
                state = _policy.unrestored_state(state, to_up, targets, new, run_id=self.run_id, now=now_iso(),
                                                 actor=self.p.get("actor"))
        result = "failed-restore-failed" if restore_error else "failed-restored"
        self._record(state, old, result, to_up, failure=failure, evidence=evidence, restore_error=restore_error,
                     running=running)
        msg = _policy.failure_message(self.result["services"], to_up, failure, restore_error, running,
                                      bool(previously_running))
        raise ReleaseError(msg + "\n" + evidence, evidence=evidence, result=result)

    def _record(self, state, managed, result, touched, **details):
        """Append the history entry and write the state a release that ended with ``result`` leaves."""
        p, now = self.p, now_iso()
        entry = _policy.history_entry(p, self.result["services"], result, run_id=self.run_id, now=now,
                                      started=(self.lock or {}).get("time"), recreated=touched,
                                      repo=self.result.get("repo"), recovered_lock=self.result.get("recovered_lock"),
                                      scenarios=self.result.get("scenarios"), **details)
        state, warnings = _policy.recorded_state(state, result, p["targets"], managed, run_id=self.run_id, now=now,
                                                 action=p.get("action", "deploy"), actor=p.get("actor"),
                                                 reason=p.get("reason"), mark_bad=p.get("mark_bad"),
                                                 sources={s: i.get("source")
                                                          for s, i in self.result["services"].items()})
        self.state.warnings.extend(warnings)
        try:
            self.state.append_history(entry)
            if result != "unchanged" or not os.path.exists(self.state.state_path):
                self.state.write_state(state)
        except StateError as exc:
            self.state.warnings.append(str(exc))
            if result == "success":
                raise ReleaseError("the release ran but could not be recorded: %s" % exc) from None
        self.result["release"] = entry
