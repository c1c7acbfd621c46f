# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""What runs on a host, what is pinned there, and what the host remembers.

Host side (``release_info`` module): :func:`collect` reads the deploy repo's
``.env`` and compose files, the release state (``<root>/.aegee``), lists and
inspects the containers through the runtime (``_runtime``; with Compose:
``docker compose ps``, one ``docker inspect`` of every container, one
``docker image inspect`` of every image) and GETs each service's
``/healthcheck``. It never changes anything.

The controller side (the ``status_rows`` / ``status_table`` filters of the
status role, which turn these results into rows and a table) is
``plugins/plugin_utils/_status_table.py``.

Commands run through ``run(argv, cwd=None, data=None) -> (rc, out, err)``,
HTTP through ``http_get(url, timeout) -> (status, body)``, so the tests fake
both boundaries.
"""

from __future__ import annotations

import os
import re

from ansible_collections.aegee.deploy.plugins.module_utils import _checks, _compose, _dotenv, _semver
from ansible_collections.aegee.deploy.plugins.module_utils._compose_cli import ComposeCliError, project_files
from ansible_collections.aegee.deploy.plugins.module_utils._runtime import RuntimeFailure
from ansible_collections.aegee.deploy.plugins.module_utils._runtimes import get_runtime
from ansible_collections.aegee.deploy.plugins.module_utils._state import HostState, StateError

VERSION_LABEL = "org.opencontainers.image.version"
ENV_FILE = ".env"
EVIDENCE_KEEP = 2000

_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)|\$\$")


def interpolate(text, env):
    """``text`` with Compose ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}`` and ``$VAR`` replaced from ``env``."""
    if text is None or "$" not in text:
        return text

    def repl(m):
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        op, default = m.group(2), m.group(3) or ""
        value = env.get(name)
        if op == ":-" and not value:
            return default
        if op == "-" and value is None:
            return default
        return value if value is not None else ""

    return _VAR_RE.sub(repl, text)


def short_digest(digest, length=12):
    """``sha256:0123456789ab…`` -> ``0123456789ab``; None stays None."""
    if not digest:
        return None
    return digest.split(":", 1)[-1][:length]


def split_image(value):
    """(repository, tag, digest) of an image reference; None parts when absent."""
    if not value:
        return None, None, None
    ref = _compose.ImageRef(value)
    return ref.repository, ref.tag, ref.digest


def same_repository(a, b):
    if not a or not b:
        return False
    return _compose.normalize_repository(a) == _compose.normalize_repository(b)


def _version_key(version):
    if _semver.HAS_SEMVER and _semver.is_version(version):
        return (1, _semver.sort_key(version), version)
    return (0, (), version)


def sort_versions(versions):
    """Semantic versions by precedence (oldest first), other tags before them, by name."""
    return sorted(versions, key=_version_key)


# ---------------------------------------------------------------- the host


def read_pins(root, files, env):
    """``{service: {"file", "image", "image_resolved"}}`` from the compose files, as Compose merges them."""
    documents, warnings = [], []
    for name in files:
        path = os.path.join(root, name)
        try:
            with open(path, encoding="utf-8") as handle:
                documents.append((name, handle.read()))
        except (OSError, UnicodeDecodeError) as exc:
            warnings.append("cannot read %s: %s" % (path, getattr(exc, "strerror", None) or exc))
    sources, problems = _compose.image_sources(documents)
    pins = {svc: {"file": src["file"], "image": src["image"], "image_resolved": interpolate(src["image"], env)}
            for svc, src in sources.items()}
    return pins, warnings + problems


def _pick_container(entries):
    """The container to report when a service has several: a running one first."""
    running = [c for c in entries if (c.get("State") or "").lower() == "running"]
    return (running or entries)[0]


def _container_info(ps_entry, details, images):
    cid = ps_entry.get("ID")
    obj = details.get(cid) or next((o for i, o in details.items() if cid and i.startswith(cid)), None) or {}
    config = obj.get("Config") or {}
    state = obj.get("State") or {}
    health = (state.get("Health") or {}).get("Status") or ps_entry.get("Health") or None
    configured = config.get("Image") or ps_entry.get("Image")
    image_id = obj.get("Image")
    image = images.get(image_id) or {}
    repository, _tag, _digest = split_image(configured)
    repo_digest = None
    for rd in image.get("RepoDigests") or []:
        repo, _sep, digest = rd.partition("@")
        if same_repository(repo, repository):
            repo_digest = digest
            break
    labels = (image.get("Config") or {}).get("Labels") or config.get("Labels") or {}
    return {
        "id": obj.get("Id") or cid,
        "name": ps_entry.get("Name") or (obj.get("Name") or "").lstrip("/") or None,
        "state": state.get("Status") or ps_entry.get("State"),
        "health": health or None,
        "status": ps_entry.get("Status"),
        "image": configured,
        "image_id": image_id,
        "repo_digest": repo_digest,
        "version_label": labels.get(VERSION_LABEL),
        "started": state.get("StartedAt"),
    }


def _service_drift(svc, info, managed_pin, compose_ok):
    """The ways ``svc`` differs from what the tool deployed, in words."""
    drift = []
    pinned = info["pinned"]
    container = info["container"]
    if managed_pin and pinned is not None and managed_pin.get("value") != pinned:
        drift.append(
            "%s pins %s, but the last release pinned %s: the compose file was edited by hand"
            % (info.get("file") or managed_pin.get("file"), pinned, managed_pin.get("value"))
        )
    if not compose_ok or pinned is None:
        return drift
    if container is None:
        drift.append("no container: the service is pinned but not running (never started, or removed by hand)")
        return drift
    if container["state"] != "running":
        drift.append("the container is %s, not running" % container["state"])
    _repository, pin_tag, pin_digest = split_image(info["pinned_resolved"])
    runs_pin = container["image"] == info["pinned_resolved"]
    if not runs_pin:
        drift.append(
            "the container runs %s, but the compose file pins %s (recreated by hand, or the file changed "
            "after the container was created)" % (container["image"], info["pinned_resolved"])
        )
    elif pin_digest and container["repo_digest"] and container["repo_digest"] != pin_digest:
        drift.append("the container's image is %s, not the pinned digest %s"
                     % (container["repo_digest"], pin_digest))
    else:
        label = container.get("version_label")
        if pin_tag and label and _semver.HAS_SEMVER and _semver.is_version(pin_tag) and label != pin_tag:
            drift.append("the image's version label says %s, the pin says %s (the tag was pushed again with "
                         "another version)" % (label, pin_tag))
    hc = info.get("healthcheck_version")
    if runs_pin:
        if pin_tag and hc and hc != pin_tag:
            drift.append("/healthcheck answers version %s, the pin says %s" % (hc, pin_tag))
    else:
        # the container already differs from the pin (said above): compare with what runs
        runs = container.get("version_label") or split_image(container["image"])[1]
        if runs and hc and hc != runs:
            drift.append("/healthcheck answers version %s, but the container runs %s" % (hc, runs))
    return drift


def collect(params, run, http_get):
    """The ``release_info`` result for the deploy root ``params['root']``."""
    root = params["root"].rstrip("/") or "/"
    state_dir = os.path.join(root, params.get("state_dir") or ".aegee")
    timeout = float(params.get("timeout") or 5)
    keep = int(params.get("history") if params.get("history") is not None else 20)
    smoke_urls = params.get("smoke_urls") or {}
    result = {
        "changed": False,
        "root": root,
        "exists": os.path.isdir(os.path.join(root, ".git")),
        "project": None,
        "environment": None,
        "files": [],
        "services": {},
        "history": [],
        "lock": None,
        "warnings": [],
    }
    warnings = result["warnings"]

    host_state = HostState(state_dir)
    try:
        state = host_state.read_state() if os.path.isdir(state_dir) else None
        history = host_state.read_history()
        lock = host_state.read_lock()
    except StateError as exc:
        warnings.append(str(exc))
        state, history, lock = None, [], None
    warnings.extend(host_state.warnings)
    state = state or {}
    result["state_found"] = os.path.isfile(host_state.state_path)
    result["lock"] = lock
    if keep > 0:
        tail = [dict(e) for e in history[-keep:]]
        for entry in tail:
            if isinstance(entry.get("evidence"), str) and len(entry["evidence"]) > EVIDENCE_KEEP:
                entry["evidence"] = "..." + entry["evidence"][-EVIDENCE_KEEP:]
        result["history"] = tail
    if history:
        result["last_release"] = {k: history[-1].get(k) for k in ("id", "time", "actor", "action", "result")}

    if not result["exists"]:
        if os.path.exists(root):
            warnings.append("%s is not a git checkout of the deploy repo" % root)
        return result

    try:
        with open(os.path.join(root, ENV_FILE), encoding="utf-8") as handle:
            env = _dotenv.parse(handle.read())
    except FileNotFoundError:
        env = {}
        warnings.append("%s/.env is missing: the compose project cannot be built" % root)
    except (OSError, UnicodeDecodeError) as exc:
        env = {}
        warnings.append("cannot read %s/.env: %s" % (root, exc))
    result["project"] = env.get("COMPOSE_PROJECT_NAME") or None
    result["environment"] = next(
        (e.get("environment") for e in reversed(history) if e.get("environment")), None
    ) or env.get("MYAEGEE_ENV") or None

    try:
        files = project_files(root, env, files=params.get("files"))
    except ComposeCliError as exc:
        warnings.append(str(exc))
        files = [f for f in (params.get("files") or []) if os.path.isfile(os.path.join(root, f))]
    result["files"] = files
    pins, pin_warnings = read_pins(root, files, env)
    warnings.extend(pin_warnings)

    # one ps, one inspect of the containers, one of their images
    containers, compose_ok = {}, False
    runtime = get_runtime(params.get("runtime"))(root, files, run)
    if files:
        try:
            for entry in runtime.ps():
                if isinstance(entry, dict) and entry.get("Service"):
                    containers.setdefault(entry["Service"], []).append(entry)
            compose_ok = True
        except (RuntimeFailure, ValueError) as exc:
            warnings.append("cannot list the containers: %s" % exc)
    chosen = {svc: _pick_container(entries) for svc, entries in containers.items()}
    details, problem = runtime.inspect("container", [c.get("ID") for c in chosen.values()])
    if problem:
        warnings.append(problem)
    images, problem = runtime.inspect("image", [o.get("Image") for o in details.values()])
    if problem:
        warnings.append(problem)

    checks = _checks.read_healthchecks(http_get, smoke_urls, timeout) if smoke_urls else {}

    managed = (state.get("managed") or {}).get("pins") or {}
    current = state.get("current") or {}
    verified = state.get("verified") or {}
    bad = state.get("bad") or {}
    names = sorted(set(pins) | set(chosen) | set(managed) | set(current))
    for svc in names:
        pin = pins.get(svc) or {}
        pinned, resolved = pin.get("image"), pin.get("image_resolved")
        repository, tag, digest = split_image(resolved)
        entry = {
            "file": pin.get("file"),
            "pinned": pinned,
            "pinned_resolved": resolved,
            "pinned_version": tag,
            "pinned_digest": digest,
            "repository": repository,
            "container": _container_info(chosen[svc], details, images) if svc in chosen else None,
            "replicas": len(containers.get(svc) or []),
            "healthcheck": checks.get(svc),
            "healthcheck_version": (checks.get(svc) or {}).get("version"),
            "current": current.get(svc),
            # where the last release took the compose definition from (_repo.compose_source), as it recorded it
            "source": (current.get(svc) or {}).get("source"),
            "managed_pin": managed.get(svc),
            "verified": sort_versions(list((verified.get(svc) or {}).keys())),
            "verified_digests": {v: (i or {}).get("digest") for v, i in (verified.get(svc) or {}).items()},
            "bad": bad.get(svc) or {},
        }
        container = entry["container"]
        running_version = None
        if container:
            running_version = container.get("version_label") or split_image(container.get("image"))[1]
        entry["running_version"] = running_version
        entry["running_digest"] = (container or {}).get("repo_digest") or (
            split_image((container or {}).get("image"))[2]
        )
        if svc not in pins and svc in chosen:
            entry["drift"] = ["a container of this project runs, but no compose file of the project defines it"]
        elif svc not in pins:
            entry["drift"] = (
                ["the last release deployed it, but no compose file of the project defines it any more"]
                if svc in managed else []
            )
        else:
            entry["drift"] = _service_drift(svc, entry, managed.get(svc), compose_ok)
        result["services"][svc] = entry
    return result
