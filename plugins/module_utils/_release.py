# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""One release on one host, as a transaction.

Order (DESIGN.md): lock -> update the deploy repo (own edits set aside and
re-applied) -> pin the target services (tag and digest) -> validate the
compose project -> pull the new images while everything still runs -> bring up
only the services that change -> wait for health (timeout from each service's
own healthcheck) -> GET each service's /healthcheck and compare the version ->
record the release, mark it verified, unlock.

Any failure after the first write restores the previous pins and containers,
checks them, records the failed release with its evidence and raises.

The files the tool manages are always rendered from the committed text
(``git show HEAD:path``) plus the tool's recorded edits, so "old" and "new"
are both exact, and a later ``git pull`` can always tell the tool's edits from
somebody else's.
"""

from __future__ import annotations

import copy
import os
import time
import uuid

from ansible_collections.aegee.deploy.plugins.module_utils import _checks, _compose, _dotenv, _repo, _semver
from ansible_collections.aegee.deploy.plugins.module_utils._compose_cli import (
    Compose,
    ComposeCliError,
    diagnose,
    health_timeout,
    project_files,
)
from ansible_collections.aegee.deploy.plugins.module_utils._fileio import FileWriteError, atomic_write
from ansible_collections.aegee.deploy.plugins.module_utils._state import HostState, StateError, now_iso

ENV_FILE = ".env"
STATE_DIR_NAME = ".aegee"


class ReleaseError(Exception):
    def __init__(self, msg, **details):
        super().__init__(msg)
        self.details = details


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def render(path, text, managed):
    """``text`` of ``path`` with the tool's managed edits applied."""
    if text is None:
        return None
    if path == ENV_FILE:
        env = managed.get("env") or {}
        return _dotenv.apply(text, env) if env else text
    for service, pin in sorted((managed.get("pins") or {}).items()):
        if pin.get("file") != path:
            continue
        ref = _compose.ImageRef(pin["value"])
        text = _compose.pin_text(text, service=service, tag=ref.tag, digest=ref.digest, name=path).after_text
    return text


def image_value(version, digest):
    return version if not digest else "%s@%s" % (version, digest)


class Release:
    """Deploy (or roll back) ``targets`` on the host at ``root``."""

    def __init__(self, params, run, http_get, check_mode=False):
        self.p = params
        self.timings = []

        def timed(argv, cwd=None, data=None):
            start = time.time()
            try:
                return run(argv, cwd=cwd, data=data)
            finally:
                words = [a for a in argv if not a.startswith("-") and "/" not in a][:4]
                self.timings.append("%.2fs %s" % (time.time() - start, " ".join(words)))

        self.run = timed
        self.http_get = http_get
        self.check_mode = check_mode
        self.root = params["root"].rstrip("/") or "/"
        self.state = HostState(os.path.join(self.root, params.get("state_dir") or STATE_DIR_NAME))
        self.result = {"changed": False, "services": {}, "diff": [], "warnings": self.state.warnings,
                       "timings": self.timings}
        self.run_id = params.get("run_id") or uuid.uuid4().hex[:12]
        self.lock = None

    # ---------------------------------------------------------------- entry
    def execute(self):
        p = self.p
        if not _repo.is_checkout(self.root):
            if self.check_mode:
                self.result.update(changed=True, msg="would clone %s into %s" % (p["repo_url"], self.root))
                self.result["diff"].append({"before": "", "after": "clone of %s (%s)\n" % (p["repo_url"], p["branch"]),
                                            "before_header": self.root, "after_header": self.root})
                return self.result
            _repo.clone(self.root, p["repo_url"], p["branch"], self.run)
            self.result["cloned"] = True
            self.result["changed"] = True
        if self.check_mode:
            held = self.state.read_lock()
            if held:
                self.state.warnings.append("the host is locked by " + HostState.describe_lock(held))
            return self._transaction()

        self.lock = self.state.acquire(
            {
                "id": self.run_id,
                "owner": p.get("actor") or "unknown",
                "controller": p.get("controller") or "",
                "pid": p.get("controller_pid"),
                "action": p.get("action", "deploy"),
                "targets": ", ".join("%s=%s" % (s, t["version"]) for s, t in sorted(p["targets"].items())),
            },
            ttl=p.get("lock_ttl", 900),
            wait=p.get("lock_wait", 0),
            break_stale=p.get("break_stale_lock", False),
        )
        self.result["lock_id"] = self.run_id
        if self.state.broken:
            gone = self.state.broken
            self.result["recovered_lock"] = {k: gone.get(k) for k in ("id", "owner", "controller", "time", "targets")}
        ok = False
        try:
            _repo.exclude_state_dir(self.root, os.path.basename(self.state.dir))
            self._transaction()
            ok = True
        finally:
            if not (ok and p.get("keep_lock")):
                self.state.release(self.run_id)
        return self.result

    # ---------------------------------------------------------- transaction
    def _transaction(self):
        p = self.p
        git = _repo.Git(self.root, self.run)
        state = self.state.read_state()
        old = copy.deepcopy(state["managed"])
        env_settings = {k: str(v) for k, v in (p.get("env") or {}).items()}
        self._check_inputs(state)

        # a release that died after writing its pins left them in the files: they are the tool's too
        pending = (self.state.broken or {}).get("pending")

        def ours(path, text):
            texts = [render(path, text, old)]
            if isinstance(pending, dict):
                texts.append(render(path, text, pending))
            return texts

        upd = _repo.update(self.root, p["branch"], ours, self.run, check_mode=self.check_mode)
        self.result["repo"] = upd
        if upd.get("pulled") or (self.check_mode and upd.get("behind")):
            self.result["changed"] = True

        # which file defines each target service
        env_text = render(ENV_FILE, git.show_head(ENV_FILE) or _read(os.path.join(self.root, ENV_FILE)) or "",
                          {"env": env_settings})
        env_values = _dotenv.parse(env_text)
        files = project_files(self.root, env_values, files=p.get("files"))
        where = self._locate_services(files)
        unknown = sorted(set(p["targets"]) - set(where))
        if unknown:
            raise ReleaseError(
                "unknown service(s) %s: the deploy repo's enabled services define %s (ENABLED_SERVICES=%s)"
                % (", ".join(unknown), ", ".join(sorted(where)), env_values.get("ENABLED_SERVICES", ""))
            )

        new = {"env": env_settings, "pins": dict(old.get("pins") or {})}
        for svc, target in p["targets"].items():
            head = git.show_head(where[svc]) or _read(os.path.join(self.root, where[svc]))
            pinned = _compose.pin_text(head, service=svc, tag=target["version"], digest=target.get("digest"),
                                       name=where[svc])
            new["pins"][svc] = {"file": where[svc], "value": pinned.pins[0]["after"]}

        paths = sorted({ENV_FILE} | {pin["file"] for pin in new["pins"].values()}
                       | {pin["file"] for pin in (old.get("pins") or {}).values()})
        self.old_texts, self.new_texts, current = {}, {}, {}
        for path in paths:
            head = git.show_head(path)
            if head is None:
                head = _read(os.path.join(self.root, path))
            current[path] = _read(os.path.join(self.root, path))
            self.old_texts[path] = render(path, head, old)
            self.new_texts[path] = render(path, head, new)
        changed_files = [pth for pth in paths if current[pth] != self.new_texts[pth]]
        for path in changed_files:
            self.result["diff"].append({"before_header": path, "after_header": path,
                                        "before": current[path] or "", "after": self.new_texts[path] or ""})

        compose = Compose(self.root, files, self.run)
        self.compose = compose
        try:
            containers = {c.get("Service"): c for c in compose.ps()}
        except ComposeCliError as exc:
            problem = diagnose(self.run)
            raise ReleaseError("%s; nothing was changed" % (problem or exc)) from None
        to_up = []
        for svc in sorted(p["targets"]):
            c = containers.get(svc)
            want = self._image_of(svc, new)
            self.result["services"][svc] = {
                "from": (state["current"].get(svc) or {}).get("version"),
                "to": p["targets"][svc]["version"],
                "digest": p["targets"][svc].get("digest"),
                "image": want,
                "container_image": c.get("Image") if c else None,
            }
            if c is None or c.get("State") != "running" or (want and c.get("Image") != want) or \
                    self.new_texts.get(where[svc]) != current.get(where[svc]):
                to_up.append(svc)
            self.result["services"][svc]["changed"] = svc in to_up
        if self.result.get("recovered_lock") and not self.check_mode:
            # the run whose lock was broken died somewhere between pins and checks: nothing of its
            # services is taken as verified until it passes health and smoke checks again
            for svc in sorted(p["targets"]):
                if svc not in to_up:
                    to_up.append(svc)
                    self.result["services"][svc]["changed"] = True
            others = sorted(set(_lock_services(self.result["recovered_lock"].get("targets"))) - set(p["targets"]))
            if others:
                self.state.warnings.append(
                    "the interrupted run was also releasing %s: check them (status.yml) or deploy them again"
                    % ", ".join(others))
        self.result["recreate"] = to_up
        if changed_files or to_up:
            self.result["changed"] = True
        if self.check_mode:
            return self.result
        if not changed_files and not to_up:
            self._record(state, old, "unchanged", [])
            return self.result

        previously_running = {s for s in to_up if s in containers}
        try:
            if self.lock and changed_files:
                # if this run dies while the files say `new`, the run that breaks its lock knows these edits
                self.state.annotate_lock(self.run_id, pending=new)
            self._write(self.new_texts, changed_files)
            config = compose.config()
            if to_up:
                self._ensure_networks(config)
                self._login()
                compose("pull", "--quiet", *to_up)
        except (ComposeCliError, FileWriteError, StateError, OSError) as exc:
            self._write(self.old_texts, changed_files, quiet=True)
            msg = ("deploy stopped before touching any running container: %s. The compose files are as they were."
                   % exc)
            self._record(state, old, "failed-unchanged", [], failure=msg)
            raise ReleaseError(msg) from None

        failure = None
        try:
            if to_up:
                timeout = max(health_timeout((config.get("services") or {}).get(s) or {}) for s in to_up)
                rc, out, err = compose("up", "--detach", "--no-deps", "--wait", "--wait-timeout",
                                       str(int(timeout)), *to_up, check=False)
                if rc != 0:
                    failure = "the new containers did not become healthy: %s" % (err or out).strip()[-1500:]
                else:
                    failure = self._smoke(to_up)
        except ComposeCliError as exc:
            failure = str(exc)
        if failure:
            evidence = compose.evidence(to_up)
            self._restore(state, old, new, changed_files, to_up, previously_running, failure, evidence)
        self._record(state, new, "success", to_up)
        return self.result

    # -------------------------------------------------------------- helpers
    def _check_inputs(self, state):
        p = self.p
        if p.get("action") == "rollback":
            self._plan_rollback(state)
        held = self.result.setdefault("held", {})
        for svc in sorted(p["targets"]):
            version = p["targets"][svc]["version"]
            if not _semver.is_version(version):
                raise ReleaseError("%s: %r is not a semantic version" % (svc, version))
            bad = (state.get("bad") or {}).get(svc) or {}
            if version not in bad:
                continue
            info = bad[version]
            why = "rolled back %s by %s: %s" % (info.get("time"), info.get("by"), info.get("reason"))
            if p.get("force"):
                self.state.warnings.append("%s %s is marked bad (%s); deploying it anyway because force is set"
                                           % (svc, version, why))
            elif p.get("hold_bad"):
                held[svc] = {"version": version, "reason": why,
                             "keeps": (state["current"].get(svc) or {}).get("version")}
                self.state.warnings.append(
                    "%s is held at %s: %s is marked bad on this host (%s); a newer version releases the hold"
                    % (svc, held[svc]["keeps"] or "its current version", version, why)
                )
                del p["targets"][svc]
            else:
                raise ReleaseError(
                    "%s %s is marked bad on this host (%s); deploy a newer version, or force it with -e force=true"
                    % (svc, version, why)
                )

    def _plan_rollback(self, state):
        """Resolve ``previous`` versions from the history and mark the versions left behind bad."""
        p = self.p
        history = self.state.read_history()
        mark = dict(p.get("mark_bad") or {})
        for svc in sorted(p["targets"]):
            target = p["targets"][svc]
            current = (state["current"].get(svc) or {}).get("version")
            if target["version"] == "previous":
                prev = previous_version(history, svc, current, state.get("bad", {}).get(svc) or {})
                if prev is None:
                    if p.get("whole_release"):
                        del p["targets"][svc]
                        continue
                    raise ReleaseError(
                        "%s: the history of this host has no earlier good release than %s to roll back to; name "
                        "the version with -e version=X.Y.Z" % (svc, current or "the current one")
                    )
                target["version"] = prev
            if not target.get("digest"):
                verified = ((state.get("verified") or {}).get(svc) or {}).get(target["version"]) or {}
                target["digest"] = verified.get("digest")
            if current and current != target["version"] and svc not in mark:
                mark[svc] = current
        p["mark_bad"] = mark
        if not p["targets"]:
            raise ReleaseError("nothing to roll back: the history of this host has no earlier good release")

    def _locate_services(self, files):
        where = {}
        for f in files:
            text = _read(os.path.join(self.root, f)) or ""
            try:
                root = _compose.compose_tree(text, f)
                services = _compose.services_node(root, f)
            except _compose.ComposeError:
                continue
            for name in _compose.service_names(services):
                where.setdefault(name, f)
        return where

    def _image_of(self, svc, managed):
        pin = (managed.get("pins") or {}).get(svc)
        return pin["value"] if pin else None

    def _write(self, texts, paths, quiet=False):
        for path in paths:
            if texts.get(path) is None:
                continue
            try:
                atomic_write(os.path.join(self.root, path), texts[path])
            except FileWriteError:
                if not quiet:
                    raise

    def _ensure_networks(self, config):
        """Create the external networks the project declares and the engine lacks (as ``make start`` does)."""
        for key, net in sorted((config.get("networks") or {}).items()):
            if not isinstance(net, dict) or not net.get("external"):
                continue
            name = net.get("name") or key
            rc, _out, _err = self.run(["docker", "network", "inspect", "--format", "{{.Name}}", name])
            if rc == 0:
                continue
            rc, out, err = self.run(["docker", "network", "create", name])
            if rc != 0:
                raise ComposeCliError("cannot create the external network %s: %s" % (name, (err or out).strip()))
            self.result.setdefault("networks_created", []).append(name)
            self.result["changed"] = True

    def _login(self):
        reg = self.p.get("registry_login") or {}
        if not reg.get("username"):
            return
        rc, out, err = self.run(
            ["docker", "login", "--username", reg["username"], "--password-stdin", reg["registry"]],
            data=reg.get("password") or "",
        )
        if rc != 0:
            raise ComposeCliError("docker login to %s as %s failed: %s"
                                  % (reg["registry"], reg["username"], (err or out).strip()))

    def _smoke(self, services):
        """None if every check of the release passes (``_checks``: /healthcheck, browser, extra), else the reason."""
        return _checks.run_release(self.p, services, self.result, self.http_get, self.run, self.state.dir)

    def _running(self, services, old, new):
        """service -> the version its container runs now (from ``compose ps``), as far as the pins tell."""
        try:
            images = {c.get("Service"): c.get("Image") for c in self.compose.ps()}
        except ComposeCliError:
            images = {}
        out = {}
        for svc in services:
            if images.get(svc) and images[svc] == self._image_of(svc, new):
                out[svc] = self.p["targets"][svc]["version"]
            elif images.get(svc) and images[svc] == self._image_of(svc, old):
                out[svc] = (self.result["services"].get(svc) or {}).get("from") or "previous"
            else:
                out[svc] = None if svc not in images else "unknown (%s)" % images[svc]
        return out

    def _describe(self, services):
        info = self.result["services"]
        return ", ".join("%s %s -> %s" % (s, (info.get(s) or {}).get("from") or "(none)", (info.get(s) or {}).get("to"))
                         for s in services)

    def _restore(self, state, old, new, changed_files, to_up, previously_running, failure, evidence):
        restore_error = None
        try:
            self._write(self.old_texts, changed_files)
            back = sorted(previously_running)
            gone = sorted(set(to_up) - previously_running)
            if gone:
                self.compose("rm", "--stop", "--force", *gone, check=False)
            if back:
                timeout = 120
                rc, out, err = self.compose("up", "--detach", "--no-deps", "--wait", "--wait-timeout", str(timeout),
                                            *back, check=False)
                if rc != 0:
                    restore_error = "restoring the previous version failed too: %s" % (err or out).strip()[-1500:]
        except (ComposeCliError, FileWriteError, OSError) as exc:
            restore_error = "restoring the previous version failed too: %s" % exc
        result = "failed-restore-failed" if restore_error else "failed-restored"
        running = None
        if restore_error:
            running = self._running(to_up, old, new)
            if all(running[s] == self.p["targets"][s]["version"] for s in to_up):
                # nothing was restored: the new containers still run, so the files say so too (a `make start`
                # on the host keeps what runs) and the tool's record of its own edits follows them
                self._write(self.new_texts, changed_files, quiet=True)
                state["managed"] = new
                now = now_iso()
                for svc in to_up:
                    target = self.p["targets"][svc]
                    state["current"][svc] = {"version": target["version"], "digest": target.get("digest"),
                                             "image": self._image_of(svc, new), "time": now,
                                             "release": self.run_id, "failed": True}
                    # it failed its checks: no rerun may take it as verified, no routine deploy may keep it
                    state["bad"].setdefault(svc, {})[target["version"]] = {
                        "time": now, "by": self.p.get("actor") or "unknown", "release": self.run_id,
                        "reason": "failed its checks and the previous version could not be restored"}
        self._record(state, old, result, to_up, failure=failure, evidence=evidence, restore_error=restore_error,
                     running=running)
        msg = "deploy of %s failed: %s. " % (self._describe(to_up), failure)
        if restore_error:
            msg += ("RESTORE FAILED: %s. Running now: %s. The host needs attention now: deploy a version that works "
                    "(-e service=... -e version=...)." % (
                        restore_error, ", ".join("%s %s" % (s, running[s] or "nothing") for s in to_up)))
        elif previously_running:
            msg += "The previous version was restored and is healthy."
        else:
            msg += "Nothing of it ran before this deploy; its new containers were removed."
        raise ReleaseError(msg + "\n" + evidence, evidence=evidence, result=result)

    def _record(self, state, managed, result, touched, failure=None, evidence=None, restore_error=None,
                running=None):
        p = self.p
        now = now_iso()
        services = {}
        for svc, info in self.result["services"].items():
            services[svc] = {k: info.get(k) for k in ("from", "to", "digest", "image", "changed")}
        entry = {
            "id": self.run_id,
            "started": (self.lock or {}).get("time"),
            "time": now,
            "actor": p.get("actor") or "unknown",
            "controller": p.get("controller") or "",
            "action": p.get("action", "deploy"),
            "environment": p.get("environment") or "",
            "services": services,
            "recreated": touched,
            "result": result,
            "repo": {k: (self.result.get("repo") or {}).get(k) for k in ("before", "after")},
        }
        if failure:
            entry["failure"] = failure
        if evidence:
            entry["evidence"] = evidence[-8000:]
        if restore_error:
            entry["restore_error"] = restore_error
        if running is not None:
            entry["running"] = running
        if self.result.get("recovered_lock"):
            entry["recovered_lock"] = self.result["recovered_lock"]
        if p.get("reason"):
            entry["reason"] = p["reason"]
        if result in ("success", "unchanged"):
            state["managed"] = managed
            for svc, target in p["targets"].items():
                state["current"][svc] = {"version": target["version"], "digest": target.get("digest"),
                                         "image": self._image_of(svc, managed), "time": now, "release": self.run_id}
                verified = state["verified"].setdefault(svc, {})
                verified[target["version"]] = {"digest": target.get("digest"), "time": now, "release": self.run_id}
                self._release_holds(state, svc, target["version"])
            for svc, version in (p.get("mark_bad") or {}).items():
                if version:
                    state["bad"].setdefault(svc, {})[version] = {
                        "time": now, "by": p.get("actor") or "unknown", "reason": p.get("reason") or "rolled back",
                        "release": self.run_id,
                    }
                    state["verified"].get(svc, {}).pop(version, None)
        try:
            self.state.append_history(entry)
            if result != "unchanged" or not os.path.exists(self.state.state_path):
                self.state.write_state(state)
        except StateError as exc:
            self.state.warnings.append(str(exc))
            if result in ("success",):
                raise ReleaseError("the release ran but could not be recorded: %s" % exc) from None
        self.result["release"] = entry

    def _release_holds(self, state, svc, version):
        """Deploying a version newer than a bad one releases the hold on it."""
        bad = state["bad"].get(svc) or {}
        if self.p.get("action") == "rollback":
            return
        for bad_version in list(bad):
            if _semver.is_version(bad_version) and _semver.compare(version, bad_version) > 0:
                del bad[bad_version]
                self.state.warnings.append("%s %s released the hold on bad version %s" % (svc, version, bad_version))
        if not bad:
            state["bad"].pop(svc, None)


def _lock_services(targets):
    """The services named in a lock's ``targets`` ("core=1.5.0, events=1.5.0")."""
    return [part.split("=", 1)[0].strip() for part in (targets or "").split(",") if "=" in part]


def previous_version(history, svc, current, bad):
    """The version ``svc`` ran before ``current`` (newest first), skipping bad ones; None if there is none."""
    seen = []
    for entry in history:
        if entry.get("result") not in ("success", "unchanged"):
            continue
        info = (entry.get("services") or {}).get(svc) or {}
        version = info.get("to")
        if version and (not seen or seen[-1] != version):
            seen.append(version)
    for version in reversed(seen):
        if version != current and version not in bad:
            return version
    return None
